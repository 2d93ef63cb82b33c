/**
 * Time, injected. Policy modules take a Clock (or a `now` number) so their tests run on a FakeClock without
 * sleeping. `now()` is monotonic milliseconds; it is not wall-clock time.
 */
export interface Clock {
  now(): number;
}

export const realClock: Clock = { now: () => performance.now() };

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
