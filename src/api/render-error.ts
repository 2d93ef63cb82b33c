import type { ServerResponse } from 'node:http';
import { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import { anthropicErrorBody, anthropicStatus } from './anthropic/anthropic-error.ts';

/** Whose protocol the error is answered in: OpenAI's (every OpenAI door, Responses included) or Anthropic's. */
export type ErrorShape = 'openai' | 'anthropic';

/**
 * The ONLY place an error becomes HTTP. SpillwayErrors render as OpenAI's error JSON with their stable code;
 * anything else is a bug: logged once with its stack, rendered as a 500 that reveals nothing internal.
 */
export function toSpillwayError(err: unknown, log: Logger, requestId: string): SpillwayError {
  if (err instanceof SpillwayError) return err;
  log.error({ err, requestId }, 'internal error');
  return new SpillwayError('internal_error', `Internal error in the gateway (request ${requestId}).`);
}

export function errorBody(e: SpillwayError): string {
  return JSON.stringify({
    error: { message: e.message, type: e.openaiType, param: e.param, code: e.upstreamCode ?? e.code },
  });
}

/** The in-band form for a stream that already started: an SSE data event the official SDKs raise as an error. */
export function errorEvent(e: SpillwayError): string {
  return `data: ${errorBody(e)}\n\n`;
}

export function renderError(res: ServerResponse, e: SpillwayError, shape: ErrorShape = 'openai'): void {
  if (res.headersSent) {
    // Only streams commit early; their failures are written in-band by the relay, never here.
    res.destroy();
    return;
  }
  const body = shape === 'anthropic' ? anthropicErrorBody(e) : errorBody(e);
  res.statusCode = shape === 'anthropic' ? anthropicStatus(e.status) : e.status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  const retryAfter = retryAfterOf(e);
  if (retryAfter !== undefined) res.setHeader('retry-after', retryAfter);
  res.end(body);
}

/** The `Retry-After` (whole seconds, at least 1) a 429 or 503 carries; undefined for any other status. */
export function retryAfterOf(e: SpillwayError): string | undefined {
  return e.status === 429 || e.status === 503 ? String(Math.max(1, Math.ceil(e.retryAfterS ?? 1))) : undefined;
}
