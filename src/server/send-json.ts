import type { ServerResponse } from 'node:http';

/**
 * Writes a whole JSON answer with its length. `no-store`: these answers (admin state, batch and file objects) are
 * about something that changes, so no cache between the client and the gateway may keep one.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    })
    .end(text);
}
