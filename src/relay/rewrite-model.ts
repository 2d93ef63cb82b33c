/**
 * The response's `model` is the public name the client asked for. Rather than re-serialising the upstream's JSON
 * (which would change its bytes), the first top-level-looking `"model":"<upstream name>"` is replaced in place.
 * Inside a JSON string a quote is escaped, so the pattern cannot match text the model wrote.
 */
export function modelRewriter(upstreamModel: string, publicModel: string): ((text: string) => string) | undefined {
  if (upstreamModel === publicModel) return undefined;
  const escaped = JSON.stringify(upstreamModel).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`"model"(\\s*):(\\s*)${escaped}`);
  const replacement = JSON.stringify(publicModel);
  return (text) => text.replace(re, (_m, a: string, b: string) => `"model"${a}:${b}${replacement}`);
}
