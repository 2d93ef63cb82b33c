/**
 * Time, injected. Policy modules take a Clock (or a `now` number) so their tests run on a FakeClock without
 * sleeping. `now()` is monotonic milliseconds; it is not wall-clock time.
 */
export interface Clock {
  now(): number;
}

export const realClock: Clock = { now: () => performance.now() };

/**
 * The longest delay a Node timer holds (2^31 − 1 ms, about 24.8 days): beyond it, or at Infinity, Node fires after
 * 1 ms instead. A wait that long must mean "never", not "now": every timer that may be given one caps it here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class FakeClock implements Clock {
  private t: number;
  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
