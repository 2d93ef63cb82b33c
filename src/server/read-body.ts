import type { IncomingMessage } from 'node:http';
import { SpillwayError } from '../errors.ts';

/**
 * Reads the request body up to `limit` bytes within `timeoutMs`. A declared content-length over the limit is
 * refused before reading a byte; a body that grows past it is refused as soon as it does.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(
      () => fail(new SpillwayError('request_timeout', `The request body did not arrive within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', fail);
    };
    const fail = (e: unknown) => {
      cleanup();
      req.resume();
      reject(
        e instanceof SpillwayError
          ? e
          : new SpillwayError('invalid_request', 'The request body could not be read.', { cause: e }),
      );
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) return fail(tooLarge(limit));
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', fail);
  });
}

function tooLarge(limit: number): SpillwayError {
  return new SpillwayError(
    'body_too_large',
    `The request body is larger than the limit of ${limit} bytes (server.body_limit_bytes).`,
  );
}
