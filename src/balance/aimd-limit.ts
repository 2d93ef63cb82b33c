/**
 * Adaptive concurrency (AIMD, as TCP congestion control and Netflix's concurrency-limits): each success raises the
 * limit by 1/limit (about +1 per full round of requests); a sign of overload (503, 429, timeout) multiplies it by
 * `decreaseFactor`, at most once per `decreaseIntervalMs` so that a burst of failures from one moment of overload
 * counts once. The limit stays within [minLimit, the configured max_concurrency]: it learns how much an upstream
 * really takes today, below what the account allows.
 *
 * Pushback is sharper than a timeout: an upstream that answers 429/503 "busy" while we had `n` requests in flight
 * (this one included) took at most n − 1. Two cases:
 * - at the limit (n ≥ limit): we probed one too far, or the cap fell: the limit falls to n − 1 — an overshoot of k
 *   costs k refusals and lowers the limit by k;
 * - below it: with no max_concurrency configured the limit starts far above a real account's, and the first busy
 *   answers come long before it is reached: when most recent answers were "busy" (`BUSY_SHARE` of them over
 *   `SHARE_WINDOW_MS`), the limit falls to n − 1 in one step, where a multiplicative decrease would need a dozen
 *   seconds of refusals. A few busy answers among many good ones below the limit say nothing about our load (an
 *   upstream that answers a tenth of its requests "busy" at random, whatever the load): they leave it alone, or a
 *   quiet moment's in-flight count would become the limit and the next burst would wait for nothing.
 * After a pushback the additive increase climbs back only to just below the highest level refused lately, for
 * `PROBE_HOLD_MS`; then it probes upward again (a cap can grow: DeepSeek's follows the account's balance). Probing
 * every round instead would cost a refusal per round, and where the refusal carries a Retry-After, a rest of the
 * whole account each time.
 *
 * Hand-written: a few lines of arithmetic on outcomes; pure, time passed in.
 */
import { WindowCounter } from '../window-counter.ts';

export interface AimdSettings {
  max: number;
  minLimit: number;
  decreaseFactor: number;
  decreaseIntervalMs: number;
}

export type Signal = 'success' | 'overload' | 'pushback' | 'neutral';

/** How long after a pushback the limit stays below the level that was refused. */
export const PROBE_HOLD_MS = 10_000;
/** Below the limit, busy answers move it only when they are at least this share of recent answers... */
const BUSY_SHARE = 0.5;
/** ...over this window, and at least this many. */
const SHARE_WINDOW_MS = 2_000;
const MIN_BUSY = 3;

/** How long a limit the upstream stated (`stated`) is held before the limit probes above it again. */
export const STATED_HOLD_MS = 60_000;

export class AimdLimit {
  private value: number;
  private lastDecrease = -Infinity;
  /** The highest in-flight level refused since `ceilingUntil` was last armed; the limit climbs to just below it. */
  private refusedLevel = Infinity;
  private ceilingUntil = -Infinity;
  private readonly s: AimdSettings;
  /** Recent answers, and how many of them were busy (pushback). */
  private readonly answers = new WindowCounter(SHARE_WINDOW_MS, 0);
  private readonly busy = new WindowCounter(SHARE_WINDOW_MS, 0);

  constructor(s: AimdSettings) {
    this.s = s;
    this.value = s.max;
  }

  /** Requests that may be in flight now. */
  get limit(): number {
    return Math.max(this.s.minLimit, Math.floor(this.value));
  }

  /** True when the limit cannot go lower: pushback at this point means the upstream refuses nearly everything. */
  get atMinimum(): boolean {
    return this.limit <= this.s.minLimit;
  }

  /**
   * A refusal that named the account's limit (DeepSeek's 429 body): the limit becomes that number at once, up or
   * down, unless fewer than it were in flight when we were refused (someone else shares the account: then what we
   * may use is what we had, less one, as for any pushback). It is held there longer than a plain pushback's level
   * (`STATED_HOLD_MS`): the upstream said it, so probing above it sooner would only buy refusals; later it probes
   * again, since the number follows the account's balance.
   */
  stated(limit: number, now: number, inFlight = Infinity): void {
    this.value = Math.max(this.s.minLimit, Math.min(this.s.max, limit, inFlight - 1));
    this.lastDecrease = now;
    this.refusedLevel = this.value + 1;
    this.ceilingUntil = now + STATED_HOLD_MS;
  }

  /**
   * A refusal explained by an attempt we cut a moment ago, which the upstream still counted: at the limit, step just
   * below what was in flight, so the next request does not meet the same refusal, but hold no ceiling — the cap did
   * not fall, and the additive increase is back within a round of answers. (Held like a pushback, a known cap of 6
   * stayed at 5 for `PROBE_HOLD_MS`.) Below the limit it weighs like any pushback there: a few refusals among good
   * answers move nothing. (Stepping down there too, an upstream that generates on after every cut — its slots held
   * by the work we left — had its limit cut to what was in flight at each refusal, and used fewer slots as they
   * freed: the fault matrix's `slow-tokens-no-abort` 65 → 47%.)
   */
  stepDown(now: number, inFlight: number): void {
    if (inFlight < this.limit) {
      this.record('pushback', now, inFlight);
      return;
    }
    this.value = Math.max(this.s.minLimit, Math.min(this.value, inFlight - 1));
    this.lastDecrease = now;
  }

  /**
   * The upstream queues what we send beyond what it runs, without a word (a self-hosted engine's waiting queue, as
   * its /metrics tell: balancer.ts `setEngineLoad`): it runs at most `runs` of ours. The limit falls to that at once
   * and is held there like a pushback's level (`PROBE_HOLD_MS`), then probes up again; the requests beyond it wait
   * in our queue, in deadline order, where priorities and the door's honest refusals apply, not in the engine's,
   * first come first served, until the client's deadline. Nothing else lowers it there: the engine never refuses,
   * and a request waiting in its queue is no timeout (attempt-timer.ts `waitsInQueue`).
   */
  queued(now: number, runs: number): void {
    const level = Math.max(this.s.minLimit, Math.min(this.s.max, runs));
    if (level >= this.value) return;
    this.value = level;
    this.lastDecrease = now;
    // The lowest level found queueing is what it runs: the climb stops below it (where a pushback keeps the highest
    // level refused, a queued request is no overshoot of ours but what the engine itself runs).
    this.refusedLevel = now < this.ceilingUntil ? Math.min(this.refusedLevel, level + 1) : level + 1;
    this.ceilingUntil = now + PROBE_HOLD_MS;
  }

  /**
   * What the upstream runs of ours, estimated from its streams' first tokens (silent-queue.ts: an engine that queues
   * without a word and whose metrics cannot be read). Lowered to it and held there as by `queued`; but while a hold
   * is on, the newest estimate stands, up or down: each is as good as the one before, and keeping the lowest of
   * several noisy estimates would leave slots idle for the whole hold (the first, made while the queue was still
   * growing, came out 2–3 under the 16 an engine ran).
   */
  estimated(now: number, runs: number): void {
    const level = Math.max(this.s.minLimit, Math.min(this.s.max, runs));
    if (level >= this.value && now >= this.ceilingUntil) return;
    this.value = level;
    this.lastDecrease = now;
    this.refusedLevel = level + 1;
    this.ceilingUntil = now + PROBE_HOLD_MS;
  }

  /** `inFlight`: requests in flight when the outcome came back, this one included (used by `pushback`). */
  record(signal: Signal, now: number, inFlight = Infinity): void {
    if (signal === 'pushback' || signal === 'success') this.answers.add(now);
    if (signal === 'pushback') {
      this.busy.add(now);
      const busy = this.busy.total(now);
      const atLimit = inFlight >= this.limit;
      if (!atLimit && (busy < MIN_BUSY || busy < BUSY_SHARE * this.answers.total(now))) return;
      this.value = Math.max(this.s.minLimit, Math.min(this.value, inFlight - 1));
      this.lastDecrease = now;
      this.refusedLevel = now < this.ceilingUntil ? Math.max(this.refusedLevel, inFlight) : inFlight;
      this.ceilingUntil = now + PROBE_HOLD_MS;
    } else if (signal === 'success') {
      const top =
        now < this.ceilingUntil
          ? Math.min(this.s.max, Math.max(this.s.minLimit, this.refusedLevel - 1) + 0.999)
          : this.s.max;
      this.value = Math.min(top, this.value + 1 / Math.max(1, this.value));
    } else if (signal === 'overload' && now - this.lastDecrease >= this.s.decreaseIntervalMs) {
      this.value = Math.max(this.s.minLimit, this.value * this.s.decreaseFactor);
      this.lastDecrease = now;
    }
  }
}
