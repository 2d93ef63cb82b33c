/**
 * Holt's linear method (double exponential smoothing) on an irregularly sampled series: a level and a trend per
 * second, each smoothed with a factor derived from a time constant, so the result does not depend on how often
 * the caller samples (α = 1 − e^(−Δt/τ)). The h-seconds-ahead forecast is level + trend × h.
 *
 * Why Holt and not Holt-Winters: the seasonal term needs several full seasons (days) of history to mean anything;
 * a gateway restarted this morning has minutes. Why not a plain EWMA: it always lags a ramp by about τ × slope,
 * which is exactly the storm an operator wants to see coming; the trend term removes that lag.
 *
 * Hand-written: twenty lines of arithmetic on which the capacity view's meaning depends; pure and clock-free (time
 * is passed in), tested as a table.
 */
export interface HoltOptions {
  /** Time constant of the level (seconds): how quickly the smoothed rate follows the observations. */
  levelTauS: number;
  /** Time constant of the trend (seconds): longer ignores short bursts, shorter reacts to a ramp sooner. */
  trendTauS: number;
}

export class HoltForecast {
  private readonly opts: HoltOptions;
  private levelV: number | undefined;
  private trendV = 0;
  private lastAtMs = 0;

  constructor(opts: HoltOptions) {
    if (!(opts.levelTauS > 0) || !(opts.trendTauS > 0)) throw new Error('Holt time constants must be positive');
    this.opts = opts;
  }

  /** Feeds one observation (e.g. requests per second over the last sample) taken at `nowMs`. */
  observe(value: number, nowMs: number): void {
    if (!Number.isFinite(value)) return;
    if (this.levelV === undefined) {
      this.levelV = value;
      this.lastAtMs = nowMs;
      return;
    }
    const dtS = (nowMs - this.lastAtMs) / 1000;
    if (dtS <= 0) return;
    this.lastAtMs = nowMs;
    const alpha = 1 - Math.exp(-dtS / this.opts.levelTauS);
    const beta = 1 - Math.exp(-dtS / this.opts.trendTauS);
    const predicted = this.levelV + this.trendV * dtS;
    // The series is a rate: after a fall to zero the trend would carry the level below it (a negative demand on the
    // dashboard); it stops at zero, and the trend then decays from there.
    const level = Math.max(0, alpha * value + (1 - alpha) * predicted);
    this.trendV = beta * ((level - this.levelV) / dtS) + (1 - beta) * this.trendV;
    this.levelV = level;
  }

  /** The smoothed current value (undefined before the first observation). */
  get level(): number | undefined {
    return this.levelV;
  }

  /** Change per second of the smoothed value. */
  get trend(): number {
    return this.trendV;
  }

  /** The value expected `horizonS` seconds after the last observation; never below zero (rates cannot be). */
  forecast(horizonS: number): number | undefined {
    if (this.levelV === undefined) return undefined;
    return Math.max(0, this.levelV + this.trendV * horizonS);
  }
}
