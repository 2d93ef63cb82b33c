import type { TimeoutPhase } from './outcome.ts';
import { boundIdleMs } from './adaptive-timeouts.ts';
import { tooSlow, type PaceWatch } from './stream-pace.ts';

/**
 * The timeouts of one attempt on a single timer: first token (keep-alive comments and blank lines do not count as
 * a token), idle between chunks after the first token, total, and the request's own deadline. Progress only
 * records a timestamp; the timer checks lazily when it fires, so a stream of thousands of chunks costs no timer
 * churn. It also counts what the attempt showed: keep-alives before the first token (a provider queueing us) and
 * the longest gap between chunks after it (what the idle timeout learns from).
 */
export interface AttemptTimeouts {
  firstTokenMs: number;
  idleMs: number;
  totalMs: number;
  /**
   * When set, a silence is also cut once half of what is left before the deadline has passed (never before this
   * floor), so that a stall mid-answer still leaves a retry or a continuation room (adaptive-timeouts.ts).
   */
  idleSplitFloorMs?: number | undefined;
  /**
   * Set when a stream too slow to finish in time may be cut for a continuation elsewhere (stream-pace.ts). Asked at
   * each data event, not once: a stream that began before its upstream's pace was learned is judged once it is.
   */
  pace?: (() => PaceWatch | undefined) | undefined;
  /**
   * Set when the idle timeout is the cold one (the upstream had not shown enough answers when the attempt began):
   * asked again at most every `COLD_RECHECK_MS` until it answers, so an attempt begun in the gateway's first second
   * is held to what its upstream has shown since, not to the cold 30 s.
   */
  learnedIdle?: (() => { idleMs: number; idleSplitFloorMs: number | undefined } | undefined) | undefined;
  /**
   * With `upstream`, the least silence cut while no other attempt on the same upstream has sent a byte since this
   * one's last: a stall is one answer gone silent while its upstream's others go on. A silence the whole upstream
   * shares (a starved process, the network, our own loop) waits this long instead of the lower floor.
   */
  quietIdleFloorMs?: number | undefined;
  /** When any attempt on this upstream last received bytes (shared by its attempts; pools.ts `heard`). */
  upstream?: UpstreamHeard | undefined;
}

export interface UpstreamHeard {
  lastByteAt: number;
}

/** While a silence waits only because its upstream is quiet, how often to look whether another attempt spoke (ms). */
const QUIET_RECHECK_MS = 100;

/** How often a cold idle timeout asks whether the upstream's gaps are known yet (ms). */
const COLD_RECHECK_MS = 500;

export class AttemptTimer {
  private readonly now: () => number;
  private readonly firstTokenAt: number;
  private readonly totalAt: number;
  private readonly deadlineAt: number;
  private idleMs: number;
  private idleSplitFloorMs: number | undefined;
  private learnedIdle: AttemptTimeouts['learnedIdle'];
  private readonly quietIdleFloorMs: number | undefined;
  private readonly upstream: UpstreamHeard | undefined;
  private readonly onTimeout: (phase: TimeoutPhase) => void;
  private readonly pace: (() => PaceWatch | undefined) | undefined;
  private lastActivity: number;
  private gotFirstToken = false;
  private handle: NodeJS.Timeout | undefined;
  /** A silence found due, waiting for the I/O that may already be in (see `check`). */
  private confirming: NodeJS.Immediate | undefined;
  fired: TimeoutPhase | undefined;
  /** Clock time of the first real token, once it came. */
  firstTokenSeenAt: number | undefined;
  /** Keep-alives (blank lines, SSE comments) received before the first token. */
  keepAlives = 0;
  /** The longest silence between two chunks after the first token (ms). */
  maxGapMs = 0;
  /** Data events after the first token, and when the last came: the attempt's pace. */
  eventsAfterFirst = 0;
  lastEventAt = 0;

  constructor(now: () => number, t: AttemptTimeouts, deadlineAt: number, onTimeout: (phase: TimeoutPhase) => void) {
    this.now = now;
    const start = now();
    this.firstTokenAt = start + t.firstTokenMs;
    this.totalAt = start + t.totalMs;
    this.deadlineAt = deadlineAt;
    this.idleMs = t.idleMs;
    this.idleSplitFloorMs = t.idleSplitFloorMs;
    this.learnedIdle = t.learnedIdle;
    this.quietIdleFloorMs = t.quietIdleFloorMs;
    this.upstream = t.upstream;
    this.pace = t.pace;
    this.lastActivity = start;
    this.onTimeout = onTimeout;
    this.arm();
  }

  /** Any bytes from the upstream (keeps the idle timer fed; does not count as a first token). */
  activity(): void {
    const now = this.now();
    if (this.gotFirstToken && now - this.lastActivity > this.maxGapMs) this.maxGapMs = now - this.lastActivity;
    this.lastActivity = now;
    if (this.upstream !== undefined) this.upstream.lastByteAt = now;
  }

  /** A keep-alive (blank line, SSE comment): no progress; before the first token, a sign of a queueing upstream. */
  keepAlive(): void {
    if (!this.gotFirstToken) this.keepAlives++;
  }

  /** Whether the upstream held the attempt with keep-alives and no token so far. */
  get queuedUpstream(): boolean {
    return !this.gotFirstToken && this.keepAlives > 0;
  }

  firstToken(): void {
    // The timer was armed for the first-token timeout; the idle limit after it may be due much sooner.
    const rearm = !this.gotFirstToken && this.handle !== undefined;
    this.gotFirstToken = true;
    this.lastActivity = this.now();
    this.firstTokenSeenAt ??= this.lastActivity;
    this.lastEventAt = this.lastActivity;
    if (rearm) {
      this.stop();
      this.arm();
    }
  }

  /** `n` data events arrived (stream-pace.ts judges the pace here, where it changes, not on a timer). */
  dataEvents(n: number): void {
    if (this.firstTokenSeenAt === undefined || this.fired !== undefined) return;
    this.eventsAfterFirst += n;
    this.lastEventAt = this.now();
    const watch = this.pace?.();
    if (watch === undefined) return;
    if (
      !tooSlow(watch, {
        events: this.eventsAfterFirst,
        firstAt: this.firstTokenSeenAt,
        lastAt: this.lastEventAt,
        deadlineAt: this.deadlineAt,
      })
    )
      return;
    this.stop();
    this.fired = 'pace';
    this.onTimeout('pace');
  }

  /** The mean gap between data events after the first token, when there were some. */
  get meanGapMs(): number | undefined {
    return this.firstTokenSeenAt === undefined || this.eventsAfterFirst === 0
      ? undefined
      : (this.lastEventAt - this.firstTokenSeenAt) / this.eventsAfterFirst;
  }

  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    if (this.confirming !== undefined) clearImmediate(this.confirming);
    this.confirming = undefined;
  }

  /** The phase that is due at `now`, if any: pure, so the order of checks is testable. */
  due(now: number): TimeoutPhase | undefined {
    if (now >= this.deadlineAt && this.deadlineAt <= this.totalAt) return 'deadline';
    if (now >= this.totalAt) return 'total';
    if (!this.gotFirstToken && now >= this.firstTokenAt) return 'first_token';
    if (this.gotFirstToken && now - this.lastActivity >= this.idleLimit()) return 'idle';
    return undefined;
  }

  /**
   * The silence allowed after the last chunk: the idle timeout, bounded so a retry still fits when asked to.
   * `limit`: this attempt's own limit, when the caller has it already (`ownIdleLimit`).
   */
  private idleLimit(limit = this.ownIdleLimit()): number {
    const quiet = this.quietIdleFloorMs;
    if (quiet === undefined || this.upstream === undefined || this.upstream.lastByteAt > this.lastActivity)
      return limit;
    // Nobody on this upstream spoke since this answer went silent; near the deadline a retry must still fit.
    return Math.max(limit, Math.min(quiet, (this.deadlineAt - this.lastActivity) / 2));
  }

  /** The silence allowed after the last chunk, as learned and bounded by the deadline, whatever the others do. */
  private ownIdleLimit(): number {
    const learned = this.learnedIdle?.();
    if (learned !== undefined) {
      this.learnedIdle = undefined;
      this.idleMs = learned.idleMs;
      this.idleSplitFloorMs = learned.idleSplitFloorMs;
    }
    const floor = this.idleSplitFloorMs;
    return floor === undefined ? this.idleMs : boundIdleMs(this.idleMs, floor, this.deadlineAt - this.lastActivity);
  }

  private nextCheck(): number {
    const phaseAt = this.gotFirstToken ? this.idleAt() : this.firstTokenAt;
    const relearnAt = this.gotFirstToken && this.learnedIdle !== undefined ? this.now() + COLD_RECHECK_MS : Infinity;
    return Math.min(phaseAt, relearnAt, this.totalAt, this.deadlineAt);
  }

  /** When the silence would be cut; while only the upstream's quiet holds it back, soon again to look. */
  private idleAt(): number {
    const ownLimit = this.ownIdleLimit();
    const at = this.lastActivity + this.idleLimit(ownLimit);
    const own = this.lastActivity + ownLimit;
    return at > own ? Math.min(at, Math.max(own, this.now() + QUIET_RECHECK_MS)) : at;
  }

  private arm(): void {
    const delay = Math.max(1, Math.ceil(this.nextCheck() - this.now()));
    this.handle = setTimeout(() => this.check(), Math.min(delay, 2_147_483_647));
    this.handle.unref();
  }

  /**
   * A silence (no first token, or idle) is judged only after yielding to I/O once: on a busy event loop the timer
   * can fire after the upstream's next bytes came in but before they were read, and a stall found that way would be
   * the gateway's own lag. The I/O phase runs before the immediate, so bytes already there are heard first.
   */
  private check(heard = false): void {
    this.handle = undefined;
    const phase = this.due(this.now());
    if (phase === undefined) {
      this.arm();
      return;
    }
    if (!heard && (phase === 'first_token' || phase === 'idle')) {
      this.confirming = setImmediate(() => {
        this.confirming = undefined;
        this.check(true);
      });
      return;
    }
    this.fired = phase;
    this.onTimeout(phase);
  }
}
