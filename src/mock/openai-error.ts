import type { ServerResponse } from 'node:http';
import { isMessagesPath } from './messages-path.ts';

/**
 * Errors in OpenAI's JSON shape `{"error":{"message","type","param","code"}}`, with the messages and codes real
 * upstreams use, so a gateway's classifier is tested against realistic bodies.
 */
export interface MockError {
  status: number;
  message?: string;
  code?: string;
  type?: string;
  param?: string | null;
  retryAfterS?: number;
}

const BY_STATUS: Record<number, { type: string; code: string; message: string }> = {
  400: { type: 'invalid_request_error', code: 'invalid_request_error', message: 'Invalid request' },
  401: {
    type: 'authentication_error',
    code: 'invalid_api_key',
    message: 'Authentication Fails, Your api key is invalid',
  },
  402: { type: 'invalid_request_error', code: 'insufficient_balance', message: 'Insufficient Balance' },
  403: { type: 'permission_error', code: 'permission_denied', message: 'Permission denied' },
  404: { type: 'invalid_request_error', code: 'not_found', message: 'Not found' },
  405: { type: 'invalid_request_error', code: 'method_not_allowed', message: 'Method not allowed' },
  413: { type: 'invalid_request_error', code: 'body_too_large', message: 'Request body too large' },
  422: { type: 'invalid_request_error', code: 'invalid_parameters', message: 'Invalid Parameters' },
  429: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests' },
  500: { type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request' },
  502: { type: 'server_error', code: 'bad_gateway', message: 'Bad gateway' },
  503: { type: 'server_error', code: 'server_overloaded', message: 'Server is busy, please try again later' },
  529: { type: 'server_error', code: 'overloaded', message: 'Overloaded' },
  504: { type: 'server_error', code: 'timeout', message: 'Gateway timeout' },
};

function errorObject(e: MockError): { error: { message: string; type: string; param: string | null; code: string } } {
  const d = BY_STATUS[e.status] ?? {
    type: e.status >= 500 ? 'server_error' : 'invalid_request_error',
    code: `http_${e.status}`,
    message: `Simulated error ${e.status}`,
  };
  return {
    error: { message: e.message ?? d.message, type: e.type ?? d.type, param: e.param ?? null, code: e.code ?? d.code },
  };
}

/** Anthropic's error types by status, for answers on the Messages API's paths. */
const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/**
 * The error in the shape of the API its request used: Anthropic's `{"type":"error","error":{"type","message"}}` on
 * the Messages API's paths (read from the request the response belongs to), OpenAI's elsewhere.
 */
export function errorJson(res: ServerResponse, e: MockError): string {
  const o = errorObject(e);
  if (!isMessagesPath(res.req.url)) return JSON.stringify(o);
  const type = ANTHROPIC_TYPE[e.status] ?? (e.status >= 500 ? 'api_error' : 'invalid_request_error');
  return JSON.stringify({ type: 'error', error: { type, message: o.error.message } });
}

/** Answers the error as a complete response (headers not sent yet). */
export function sendError(res: ServerResponse, e: MockError, extraHeaders: Record<string, string> = {}): void {
  const body = errorJson(res, e);
  const headers: Record<string, string | number> = {
    ...extraHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (e.retryAfterS !== undefined) headers['retry-after'] = String(e.retryAfterS);
  res.writeHead(e.status, headers);
  res.end(body);
}
