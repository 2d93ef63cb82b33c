import type { IncomingHttpHeaders } from 'node:http';
import type { Priority } from '../priority.ts';

/** Share of a client's own timeout kept back, at most `MAX_MARGIN_MS`: see requestDeadlineMs. */
const MARGIN_SHARE = 0.02;
const MAX_MARGIN_MS = 1_000;

/**
 * How long the gateway has to answer, in ms: `x-spillway-deadline-ms`, else `x-stainless-timeout` (seconds; the
 * official OpenAI SDKs send their own timeout there), else the configured default. A malformed header is ignored
 * rather than refused: the deadline is a hint that only ever shortens waiting. A client's timeout started before
 * its request arrived and its answer still has to travel back, so the gateway keeps 2% of it (at most 1 s) in
 * hand: its own honest answer (a refusal with Retry-After, an in-band error) reaches the client before the
 * client's timer gives up on it.
 */
export function requestDeadlineMs(headers: IncomingHttpHeaders, defaultMs: number): number {
  const explicit = positive(headers['x-spillway-deadline-ms']);
  const sdk = positive(headers['x-stainless-timeout']);
  const ms = explicit ?? (sdk === undefined ? undefined : sdk * 1000);
  // The configured default is the gateway's own bound, not a client's timer: nothing to keep back.
  return ms === undefined ? defaultMs : ms - Math.min(MAX_MARGIN_MS, MARGIN_SHARE * ms);
}

function positive(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Which try of an official SDK this request is: the SDKs send `x-stainless-retry-count` on every request (0 on the
 * first). The header's number as sent (NaN when it is not one); undefined when it is absent or empty: a client that
 * never retries at our hint.
 */
export function sdkRetryCount(headers: IncomingHttpHeaders): number | undefined {
  const v = headers['x-stainless-retry-count'];
  return typeof v === 'string' && v !== '' ? Number(v) : undefined;
}

/** The scheduling class a client asks for; anything else is `normal` (tenants may cap it later). */
export function requestPriority(v: string | string[] | undefined): Priority {
  const s = Array.isArray(v) ? v[0] : v;
  return s === 'high' || s === 'low' ? s : 'normal';
}
