import type { Duplex } from 'node:stream';
import { SpillwayError } from '../errors.ts';
import { errorBody, retryAfterOf } from '../api/render-error.ts';

// Not `import`ed: an ES import of node:http loads Node's bundled undici (see server/http-server.ts).
const { STATUS_CODES } = process.getBuiltinModule('node:http');

/**
 * Node's HTTP parser refuses a malformed request (bad request line, bad header, headers too large, a request that
 * took too long to arrive) before any handler sees it, and by default answers a bare `400` with no body. This
 * answers in OpenAI's error shape instead, so an SDK shows a reason, and closes the connection (after a framing
 * error nothing more on it can be trusted). There is no request or response object here: the answer is written
 * to the socket as raw HTTP/1.1.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex, responding: boolean): void {
  // Nobody to answer, or an answer already under way on this connection (writing one now would corrupt it).
  if (err.code === 'ECONNRESET' || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  writeRawError(socket, clientErrorOf(err.code));
}

/**
 * A CONNECT request (a tunnel through a proxy) is not a route Spillway has; without this Node would drop the
 * connection without a word.
 */
export function refuseConnect(socket: Duplex): void {
  socket.on('error', () => undefined);
  writeRawError(
    socket,
    new SpillwayError('method_not_allowed', 'CONNECT is not supported: Spillway is not a forward proxy.'),
  );
}

/** Writes `e` as a complete HTTP/1.1 answer straight to the socket and closes it. */
export function writeRawError(socket: Duplex, e: SpillwayError): void {
  const body = errorBody(e);
  const seconds = retryAfterOf(e);
  const retryAfter = seconds === undefined ? '' : `retry-after: ${seconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${retryAfter}connection: close\r\n\r\n${body}`,
  );
}

/** The SpillwayError for a parser or timeout error code from Node (`HPE_*` are llhttp's). */
function clientErrorOf(code: string | undefined): SpillwayError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new SpillwayError(
        'headers_too_large',
        'The request line and headers are larger than the server accepts (16 KiB).',
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SpillwayError(
        'request_timeout',
        'The request did not arrive in time (headers, or the whole request: server.body_timeout / server.upload_timeout).',
      );
    case undefined:
    default:
      return new SpillwayError(
        'invalid_request',
        `The HTTP request is malformed${code === undefined ? '' : ` (${code})`}.`,
      );
  }
}
