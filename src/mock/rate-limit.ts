/**
 * Requests-per-minute limits (`rpm`, `perKeyRpm`) as an exact sliding window: a request is admitted when fewer
 * than `limit` requests were admitted in the last `windowMs`. Exact rather than a token bucket or GCRA because a
 * test says "N+k requests in a minute: exactly N pass", and a refusal can name the precise moment a place frees
 * (the oldest admission leaving the window), which is what an honest Retry-After needs.
 *
 * Per key it keeps only the last `limit` admission times in a ring (O(1) per request, memory `limit` per key).
 * Pure: the caller passes `now` (ms, monotonic), so tests run on a fake clock.
 */
export class SlidingWindowLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly rings = new Map<string, { times: number[]; next: number }>();

  constructor(limit: number, windowMs = 60_000) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`limit=${limit} is not a positive integer`);
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Milliseconds until `key` may be admitted; 0 means now. Does not record anything. */
  waitMs(key: string, now: number): number {
    const ring = this.rings.get(key);
    if (ring === undefined || ring.times.length < this.limit) return 0;
    // The ring is full: the slot at `next` holds the oldest of the last `limit` admissions.
    const oldest = ring.times[ring.next] as number;
    return Math.max(0, oldest + this.windowMs - now);
  }

  /** Records an admission for `key` at `now`. Call only after waitMs() said 0 (and every other check passed). */
  record(key: string, now: number): void {
    let ring = this.rings.get(key);
    if (ring === undefined) {
      ring = { times: [], next: 0 };
      this.rings.set(key, ring);
    }
    if (ring.times.length < this.limit) {
      ring.times.push(now);
      return;
    }
    ring.times[ring.next] = now;
    ring.next = (ring.next + 1) % this.limit;
  }
}

/** Retry-After in whole seconds, never 0: "retry in 0 seconds" makes clients hammer the server. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
