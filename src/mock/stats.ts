/**
 * What the simulator saw, for tests and chaos drills to assert on ("the gateway never exceeded 4 concurrent
 * requests", "the aborted client's upstream request was cancelled"). Requests to the /mock/* control paths are
 * not counted, so reading the stats does not change them.
 */
export interface MockStats {
  /** API requests received (any path except /mock/*). */
  received: number;
  /** Successful answers written to the end. */
  completed: number;
  /** Generation requests accepted and not yet finished, including those waiting in the queue. */
  inFlight: number;
  peakInFlight: number;
  /**
   * Refusals by the mock's own rules: 'full' | 'queue_timeout' | 'unauthorized' | 'key_concurrency' | 'rpm' |
   * 'key_rpm' | 'bad_request' | 'not_found' | 'method_not_allowed'. Injected faults are counted in `faults` instead.
   */
  rejected: Record<string, number>;
  /**
   * Injected faults by kind: 'status_<code>' | 'reset_before_headers' | 'reset_after_tokens' |
   * 'stall_after_headers' | 'stall_after_tokens' | 'blank_lines_before' | 'slow_tokens', and from scheduled
   * outages 'outage_hang' (a request held by a hang) | 'outage_reset' (an open request cut by a refuse outage).
   * Counted when the fault is applied, whether asked in the body or drawn from the `faults` rates.
   */
  faults: Record<string, number>;
  /** The client (or close()) went away before the answer was complete. */
  aborted: number;
  /**
   * Answers generated to their end after the client had gone: work nobody received. With continueAfterAbort
   * every abandoned answer counts here when its generation ends; without, only one that finished at the very
   * moment its client left.
   */
  completedAfterClientGone: number;
  /** Peak concurrency per API key, keyed by `keyLabel()` ("…" + last 4 characters; "(none)" without a key). */
  peakPerKey: Record<string, number>;
  /** Requests by path as received (with or without /v1). */
  byPath: Record<string, number>;
  /** Answers started per prompt text (only with the `countPrompts` option). */
  generatedByPrompt: Record<string, number>;
  /** The last API request received, for pass-through checks. */
  lastRequest?: { headers: Record<string, string | string[] | undefined>; body: unknown };
}

export class StatsRecorder {
  private s: MockStats = StatsRecorder.empty();
  private readonly perKeyNow = new Map<string, number>();

  private static empty(): MockStats {
    return {
      received: 0,
      completed: 0,
      inFlight: 0,
      peakInFlight: 0,
      rejected: {},
      faults: {},
      aborted: 0,
      completedAfterClientGone: 0,
      peakPerKey: {},
      byPath: {},
      generatedByPrompt: {},
    };
  }

  received(path: string, headers: Record<string, string | string[] | undefined>, body: unknown): void {
    this.s.received++;
    this.s.byPath[path] = (this.s.byPath[path] ?? 0) + 1;
    this.s.lastRequest = { headers, body };
  }

  rejected(reason: string): void {
    this.s.rejected[reason] = (this.s.rejected[reason] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.s.faults[kind] = (this.s.faults[kind] ?? 0) + 1;
  }

  generating(prompt: string): void {
    this.s.generatedByPrompt[prompt] = (this.s.generatedByPrompt[prompt] ?? 0) + 1;
  }

  completed(): void {
    this.s.completed++;
  }

  aborted(): void {
    this.s.aborted++;
  }

  completedAfterClientGone(): void {
    this.s.completedAfterClientGone++;
  }

  /** A generation request was accepted: it counts towards in-flight, overall and for its key. */
  enter(keyLabel: string): void {
    this.s.inFlight++;
    if (this.s.inFlight > this.s.peakInFlight) this.s.peakInFlight = this.s.inFlight;
    const n = (this.perKeyNow.get(keyLabel) ?? 0) + 1;
    this.perKeyNow.set(keyLabel, n);
    if (n > (this.s.peakPerKey[keyLabel] ?? 0)) this.s.peakPerKey[keyLabel] = n;
  }

  leave(keyLabel: string): void {
    this.s.inFlight--;
    const n = (this.perKeyNow.get(keyLabel) ?? 1) - 1;
    if (n === 0) this.perKeyNow.delete(keyLabel);
    else this.perKeyNow.set(keyLabel, n);
  }

  /** Current in-flight count for one key (per-key concurrency limit). */
  inFlightFor(keyLabel: string): number {
    return this.perKeyNow.get(keyLabel) ?? 0;
  }

  /** A deep copy: callers may keep or mutate it. */
  snapshot(): MockStats {
    return structuredClone(this.s);
  }

  /**
   * Zeroes the counters. In-flight counts are gauges, not counters: they keep their current value, and the peaks
   * restart from it, so a reset in the middle of traffic stays consistent.
   */
  reset(): void {
    const inFlight = this.s.inFlight;
    this.s = StatsRecorder.empty();
    this.s.inFlight = inFlight;
    this.s.peakInFlight = inFlight;
    for (const [k, n] of this.perKeyNow) this.s.peakPerKey[k] = n;
  }
}
