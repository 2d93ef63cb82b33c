import type { Lifetime } from './ttl.ts';
import { isCompleteMessage } from './messages-answer.ts';
import { isCompleteResponse } from './responses-answer.ts';

/** Where an entry lives: the tenant namespace, the public model and the request's key. */
export interface EntryKey {
  ns: string;
  model: string;
  hash: string;
}

/**
 * One stored answer, in its non-stream JSON form (a stream request gets it replayed as chunks). Times are wall-clock
 * epoch ms: entries in Redis are read by other instances, which share wall-clock time (NTP) but not a monotonic clock.
 */
export interface CacheEntry extends Lifetime {
  body: string;
  /** The answer has a `usage` object (a stream that asks for usage can only be served from one that has). */
  usage: boolean;
}

/** Which entries a purge removes; an absent field matches every value. */
export interface PurgeFilter {
  model?: string | undefined;
  ns?: string | undefined;
}

export function matchesPurge(key: EntryKey, f: PurgeFilter): boolean {
  return (f.model === undefined || f.model === key.model) && (f.ns === undefined || f.ns === key.ns);
}

/** Parses an entry read from Redis; anything malformed (another version, a foreign key) is treated as a miss. */
export function parseEntry(text: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(text) as Partial<CacheEntry>;
    if (typeof e.body !== 'string' || typeof e.freshUntil !== 'number' || typeof e.staleUntil !== 'number')
      return undefined;
    // The body is served as it is (or replayed): it must be an answer, whoever wrote the key — a chat one, or a
    // Messages or Responses one (their keys are apart: cache-request.ts).
    const answer = JSON.parse(e.body) as { choices?: unknown } | null;
    if (!Array.isArray(answer?.choices) && !isCompleteMessage(answer) && !isCompleteResponse(answer)) return undefined;
    return { body: e.body, usage: e.usage === true, freshUntil: e.freshUntil, staleUntil: e.staleUntil };
  } catch {
    return undefined;
  }
}
