/** The Messages API's paths: `/v1/messages` and `/messages`, also under DeepSeek's `/anthropic` base path. */
export function isMessagesPath(path: string | undefined): boolean {
  if (path === undefined) return false;
  const q = path.indexOf('?');
  const p = (q < 0 ? path : path.slice(0, q)).replace(/^\/anthropic(?=\/)/, '');
  return p === '/v1/messages' || p === '/messages';
}
