import type { TimeoutPhase } from './outcome.ts';

/**
 * The timeouts of one attempt on a single timer: first token (keep-alive comments and blank lines do not count as
 * a token), idle between chunks after the first token, total, and the request's own deadline. Progress only
 * records a timestamp; the timer checks lazily when it fires, so a stream of thousands of chunks costs no timer
 * churn.
 */
export interface AttemptTimeouts {
  firstTokenMs: number;
  idleMs: number;
  totalMs: number;
}

export class AttemptTimer {
  private readonly now: () => number;
  private readonly firstTokenAt: number;
  private readonly totalAt: number;
  private readonly deadlineAt: number;
  private readonly idleMs: number;
  private readonly onTimeout: (phase: TimeoutPhase) => void;
  private lastActivity: number;
  private gotFirstToken = false;
  private handle: NodeJS.Timeout | undefined;
  fired: TimeoutPhase | undefined;
  /** Clock time of the first real token, once it came. */
  firstTokenSeenAt: number | undefined;

  constructor(now: () => number, t: AttemptTimeouts, deadlineAt: number, onTimeout: (phase: TimeoutPhase) => void) {
    this.now = now;
    const start = now();
    this.firstTokenAt = start + t.firstTokenMs;
    this.totalAt = start + t.totalMs;
    this.deadlineAt = deadlineAt;
    this.idleMs = t.idleMs;
    this.lastActivity = start;
    this.onTimeout = onTimeout;
    this.arm();
  }

  /** Any bytes from the upstream (keeps the idle timer fed; does not count as a first token). */
  activity(): void {
    this.lastActivity = this.now();
  }

  firstToken(): void {
    this.gotFirstToken = true;
    this.lastActivity = this.now();
    this.firstTokenSeenAt ??= this.lastActivity;
  }

  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
  }

  /** The phase that is due at `now`, if any: pure, so the order of checks is testable. */
  due(now: number): TimeoutPhase | undefined {
    if (now >= this.deadlineAt && this.deadlineAt <= this.totalAt) return 'deadline';
    if (now >= this.totalAt) return 'total';
    if (!this.gotFirstToken && now >= this.firstTokenAt) return 'first_token';
    if (this.gotFirstToken && now - this.lastActivity >= this.idleMs) return 'idle';
    return undefined;
  }

  private nextCheck(): number {
    const phaseAt = this.gotFirstToken ? this.lastActivity + this.idleMs : this.firstTokenAt;
    return Math.min(phaseAt, this.totalAt, this.deadlineAt);
  }

  private arm(): void {
    const delay = Math.max(1, Math.ceil(this.nextCheck() - this.now()));
    this.handle = setTimeout(() => this.check(), Math.min(delay, 2_147_483_647));
    this.handle.unref();
  }

  private check(): void {
    const phase = this.due(this.now());
    if (phase === undefined) {
      this.arm();
      return;
    }
    this.handle = undefined;
    this.fired = phase;
    this.onTimeout(phase);
  }
}
