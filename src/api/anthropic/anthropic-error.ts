import { ERROR_CODES, type SpillwayError } from '../../errors.ts';

/**
 * Spillway's errors in Anthropic's shape, for the Messages door: `{"type":"error","error":{"type","message"}}`
 * with Anthropic's statuses. "Busy" (every 503 of ours: overloaded, no capacity, queue full or timed out, draining)
 * is 529 `overloaded_error`, the status Anthropic's clients know as "overloaded, retry later"; rate limits stay 429
 * `rate_limit_error`. render-error.ts is the only caller that writes these as HTTP.
 */
const TYPE_OF_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function anthropicStatus(status: number): number {
  return status === 503 ? 529 : status;
}

export function anthropicErrorType(status: number): string {
  return TYPE_OF_STATUS[anthropicStatus(status)] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function payload(status: number, message: string): string {
  return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } });
}

export function anthropicErrorBody(e: SpillwayError): string {
  return payload(e.status, e.message);
}

/** The in-band form on a stream that already started: an `error` event, which the Anthropic SDKs raise. */
export function anthropicErrorEvent(status: number, message: string): string {
  return `event: error\ndata: ${payload(status, message)}\n\n`;
}

/** The status behind an error code the chat stream carried in-band (an upstream's own code: a server error). */
export function statusOfCode(code: unknown): number {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code)
    ? ERROR_CODES[code as keyof typeof ERROR_CODES].status
    : 500;
}
