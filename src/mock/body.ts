import type { IncomingMessage } from 'node:http';

/** Far above any real chat request; stops a runaway client from filling the test machine's memory. */
const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

export type ReadBody =
  | { kind: 'empty' }
  | { kind: 'json'; value: unknown }
  | { kind: 'invalid'; message: string }
  | { kind: 'too_large' }
  | { kind: 'gone' };

/** Reads and parses the whole request body. Resolves, never rejects: every outcome is an answer for the router. */
export function readJsonBody(req: IncomingMessage): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: ReadBody): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        finish({ kind: 'too_large' });
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size === 0) return finish({ kind: 'empty' });
      const text =
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        finish({ kind: 'json', value: JSON.parse(text) });
      } catch (err) {
        finish({ kind: 'invalid', message: `invalid JSON body: ${(err as Error).message}` });
      }
    });
    // The client went away mid-body: nothing to answer.
    req.on('error', () => finish({ kind: 'gone' }));
    req.on('close', () => finish({ kind: 'gone' }));
  });
}
