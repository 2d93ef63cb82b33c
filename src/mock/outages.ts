/**
 * Scheduled outages: time windows, relative to the mock's start, in which the simulated server is down.
 *   'refuse'  the process is gone: connections are refused, open ones are reset
 *   'hang'    the process is wedged: connections are accepted and requests never answered; when the window ends
 *             those connections are destroyed (as when a wedged server is finally restarted)
 *
 * The window logic is pure (outageAt, nextChange); OutageSchedule turns it into start/end callbacks with
 * injected timers, so it is tested on a fake clock. Windows are half-open [startMs, endMs).
 */
export interface Outage {
  startMs: number;
  endMs: number;
  mode: 'refuse' | 'hang';
}

/** Problems with a list of outages (empty when valid): each window non-empty, sorted, not overlapping. */
export function outageProblems(outages: readonly Outage[]): string[] {
  const problems: string[] = [];
  outages.forEach((o, i) => {
    const at = `outages[${i}]`;
    if (!(Number.isInteger(o.startMs) && o.startMs >= 0))
      problems.push(`${at}.startMs=${String(o.startMs)} is not a non-negative integer`);
    if (!(Number.isInteger(o.endMs) && o.endMs > o.startMs))
      problems.push(`${at}.endMs=${String(o.endMs)} is not an integer after startMs`);
    if (o.mode !== 'refuse' && o.mode !== 'hang')
      problems.push(`${at}.mode=${String(o.mode)} is not "refuse" or "hang"`);
    const prev = outages[i - 1];
    if (prev !== undefined && o.startMs < prev.endMs)
      problems.push(`${at} starts before outages[${i - 1}] ends (windows must be sorted and apart)`);
  });
  return problems;
}

/** Index of the outage in force `elapsedMs` after start, if any. */
export function outageAt(outages: readonly Outage[], elapsedMs: number): number | undefined {
  const i = outages.findIndex((o) => o.startMs <= elapsedMs && elapsedMs < o.endMs);
  return i < 0 ? undefined : i;
}

/** The next moment (ms after start) strictly after `elapsedMs` at which some window opens or closes. */
export function nextChange(outages: readonly Outage[], elapsedMs: number): number | undefined {
  let next: number | undefined;
  for (const o of outages) {
    for (const t of [o.startMs, o.endMs]) if (t > elapsedMs && (next === undefined || t < next)) next = t;
  }
  return next;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface OutageHandlers {
  start(outage: Outage, index: number): void;
  end(outage: Outage, index: number): void;
}

export class OutageSchedule {
  private readonly outages: readonly Outage[];
  private readonly timers: Timers;
  private readonly on: OutageHandlers;
  private t0 = 0;
  private current: number | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(outages: readonly Outage[], timers: Timers, handlers: OutageHandlers) {
    this.outages = outages;
    this.timers = timers;
    this.on = handlers;
  }

  /** Starts the clock at now; a window that opens at 0 starts synchronously. */
  start(): void {
    this.t0 = this.timers.now();
    this.tick();
  }

  /** Cancels what is scheduled. Does not call end(): the owner is shutting down. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get active(): number | undefined {
    return this.current;
  }

  // Re-reads the clock on every wake-up instead of trusting the timer: a timer that fires a little early just
  // sleeps again for the remainder, and one that fires late (a loaded machine) catches up in one step.
  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const elapsed = this.timers.now() - this.t0;
    const now = outageAt(this.outages, elapsed);
    if (now !== this.current) {
      const prev = this.current;
      this.current = now;
      if (prev !== undefined) this.on.end(this.outages[prev] as Outage, prev);
      if (now !== undefined) this.on.start(this.outages[now] as Outage, now);
    }
    const next = nextChange(this.outages, elapsed);
    if (next !== undefined && !this.stopped)
      this.timer = this.timers.setTimeout(() => this.tick(), Math.max(1, Math.ceil(next - elapsed)));
  }
}
