/**
 * What every attempt on one upstream hears, shared by them (pools.ts keeps one per upstream): when bytes last came,
 * its last silence as a whole, the prompts it may be reading now, and the order it starts requests in. An attempt's
 * timer (attempt-timer.ts) tells one stalled answer from the upstream's own pauses and queue by them. Pure
 * bookkeeping: time is passed in.
 */
export class UpstreamHeard {
  /** When any attempt on this upstream last received bytes. */
  lastByteAt = -Infinity;
  /** The latest silence of the whole upstream (no byte to any attempt) of at least `SHARED_SILENCE_MS`, once ended. */
  lastSilence: { from: number; to: number } | undefined;
  /** Attempts whose prompt the upstream may be reading now: when each was sent and when its prefill is due. */
  private readonly prefilling = new Set<Prefill>();
  /** Recent first tokens, oldest first: when each attempt was sent and when it started (at most `STARTS_KEPT`). */
  private readonly starts: { sentAt: number; at: number }[] = [];

  /** Some attempt received bytes at `now`. */
  bytes(now: number): void {
    if (now - this.lastByteAt >= SHARED_SILENCE_MS) this.lastSilence = { from: this.lastByteAt, to: now };
    this.lastByteAt = now;
  }

  /** An attempt sent at `sentAt` may keep the upstream reading its prompt until `dueAt`; `prefilled` ends it. */
  prefill(sentAt: number, dueAt: number): Prefill {
    const p = { sentAt, dueAt };
    this.prefilling.add(p);
    return p;
  }

  prefilled(p: Prefill): void {
    this.prefilling.delete(p);
  }

  /** When the last prefill sent by `sentBy` is due (-Infinity: none is under way). */
  prefillDueAt(sentBy: number): number {
    let due = -Infinity;
    for (const p of this.prefilling) if (p.sentAt <= sentBy && p.dueAt > due) due = p.dueAt;
    return due;
  }

  /** An attempt sent at `sentAt` had its first token at `at`: the upstream started it. */
  started(sentAt: number, at: number): void {
    this.starts.push({ sentAt, at });
    if (this.starts.length > STARTS_KEPT) this.starts.shift();
  }

  /** When the first attempt sent at `sentBy` or later started, among those remembered (undefined: none has). */
  startedAfter(sentBy: number): number | undefined {
    for (const s of this.starts) if (s.sentAt >= sentBy) return s.at;
    return undefined;
  }
}

export interface Prefill {
  readonly sentAt: number;
  readonly dueAt: number;
}

/**
 * A silence of the whole upstream shorter than this is its normal rhythm between tokens, not a pause worth
 * remembering (each one remembered replaces the last: attempt-timer.ts `countedFrom`).
 */
const SHARED_SILENCE_MS = 200;

/** First tokens remembered: seconds of them under load. */
const STARTS_KEPT = 512;
