import type { IncomingHttpHeaders } from 'node:http';
import type { Priority } from '../queue/scheduler.ts';

/**
 * How long the client will wait, in ms: `x-spillway-deadline-ms`, else `x-stainless-timeout` (seconds; the official
 * OpenAI SDKs send their own timeout there), else the configured default. A malformed header is ignored rather
 * than refused: the deadline is a hint that only ever shortens waiting.
 */
export function requestDeadlineMs(headers: IncomingHttpHeaders, defaultMs: number): number {
  const explicit = positive(headers['x-spillway-deadline-ms']);
  if (explicit !== undefined) return explicit;
  const sdk = positive(headers['x-stainless-timeout']);
  if (sdk !== undefined) return sdk * 1000;
  return defaultMs;
}

function positive(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The scheduling class a client asks for; anything else is `normal` (tenants may cap it later). */
export function requestPriority(v: string | string[] | undefined): Priority {
  const s = Array.isArray(v) ? v[0] : v;
  return s === 'high' || s === 'low' ? s : 'normal';
}
