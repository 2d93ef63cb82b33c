import type { Config } from '../config/types.ts';
import { WindowCounter } from '../window-counter.ts';

/** The `health` block of the config, in milliseconds. */
export type HealthSettings = Config['health'];

interface UpstreamHealth {
  consecutiveFailures: number;
  attempts: WindowCounter;
  failures: WindowCounter;
  ejectedUntil: number;
  ejections: number;
  probing: boolean;
  lastEjectionEnd: number;
}

export type HealthState = 'healthy' | 'ejected' | 'half_open';

/**
 * A failed probe that took less than this cost its client nothing worth counting (a refused connection, a reset
 * before headers, a quick 500: the request went elsewhere at once), so the next time out does not grow: an upstream
 * whose outage ends is then back within one base time out, not within the doubled one. A probe that hung (a stall,
 * a timeout) cost its client seconds: the time out doubles, as it always did.
 */
export const CHEAP_PROBE_MS = 250;

/**
 * Passive health (outlier ejection, a circuit breaker per upstream): an upstream that fails `failureThreshold`
 * times in a row, or whose recent attempts failed at `failureRatePercent` or more (once there were
 * `failureRateMinRequests` of them in the window), is taken out of rotation for ejectionBase × 2^(n-1) (capped at
 * ejectionMax; n grows with every costly failed probe, not with a cheap one), then half-open: one probe request
 * at a time until a success puts it back. Never more than maxEjectedPercent of the upstreams are out at once (at least one may be),
 * so a fleet-wide storm spreads load instead of emptying the pool.
 *
 * Hand-written: this is the product's own admission policy, pure and clock-driven so it is tested as a table.
 */
export class PassiveHealth {
  private readonly byName = new Map<string, UpstreamHealth>();
  private readonly settings: HealthSettings;

  /** `previous`: the breaker a config reload replaces; upstreams that keep their name keep their state. */
  constructor(names: readonly string[], settings: HealthSettings, now = 0, previous?: PassiveHealth) {
    this.settings = settings;
    for (const n of names) {
      const kept = previous?.byName.get(n);
      if (kept !== undefined) {
        this.byName.set(n, kept);
        continue;
      }
      this.byName.set(n, {
        consecutiveFailures: 0,
        ejectedUntil: 0,
        ejections: 0,
        probing: false,
        lastEjectionEnd: 0,
        attempts: new WindowCounter(settings.failureRateWindowMs, now),
        failures: new WindowCounter(settings.failureRateWindowMs, now),
      });
    }
  }

  state(name: string, now: number): HealthState {
    const h = this.get(name);
    if (h.ejections === 0 || h.ejectedUntil === 0) return 'healthy';
    return now < h.ejectedUntil ? 'ejected' : 'half_open';
  }

  /** May a request go to this upstream now? In half-open state only one probe is allowed at a time. */
  available(name: string, now: number): boolean {
    const s = this.state(name, now);
    if (s === 'healthy') return true;
    if (s === 'ejected') return false;
    return !this.get(name).probing;
  }

  /** Called when a request is sent; marks a half-open upstream as being probed. */
  onSend(name: string, now: number): void {
    if (this.state(name, now) === 'half_open') this.get(name).probing = true;
  }

  /** Milliseconds until the earliest ejected upstream among `names` may be probed (0 when one is available). */
  retryInMs(names: readonly string[], now: number): number {
    let best = Infinity;
    for (const n of names) {
      const h = this.get(n);
      best = Math.min(best, this.available(n, now) ? 0 : Math.max(0, h.ejectedUntil - now));
    }
    return best === Infinity ? 0 : best;
  }

  /** An attempt ended without telling anything about health (the client left): a probe may be sent again. */
  cancelProbe(name: string): void {
    this.get(name).probing = false;
  }

  /**
   * Records an attempt's result; `costMs` is how long the attempt took (unknown: counted as costly). Returns true
   * when this call ejected the upstream.
   */
  record(name: string, failure: boolean, now: number, costMs = Infinity): boolean {
    const h = this.get(name);
    const wasProbe = h.probing;
    h.probing = false;
    h.attempts.add(now);
    if (failure) h.failures.add(now);
    if (!failure) {
      h.consecutiveFailures = 0;
      if (h.ejectedUntil !== 0 && now >= h.ejectedUntil) {
        h.lastEjectionEnd = now;
        h.ejectedUntil = 0;
      }
      // A long healthy stretch forgives earlier ejections, so the next one starts short again.
      if (h.ejections > 0 && h.ejectedUntil === 0 && now - h.lastEjectionEnd >= this.settings.ejectionMaxMs)
        h.ejections = 0;
      return false;
    }
    h.consecutiveFailures++;
    const failedProbe = wasProbe && now >= h.ejectedUntil;
    const n = h.attempts.total(now);
    const rateTripped =
      n >= this.settings.failureRateMinRequests &&
      (100 * h.failures.total(now)) / n >= this.settings.failureRatePercent;
    if (
      (failedProbe || rateTripped || h.consecutiveFailures >= this.settings.failureThreshold) &&
      now >= h.ejectedUntil &&
      this.mayEject(name, now)
    ) {
      // A cheap failed probe keeps the time out it had (see CHEAP_PROBE_MS); anything else doubles it.
      if (!(failedProbe && costMs < CHEAP_PROBE_MS && h.ejections > 0)) h.ejections++;
      const d = Math.min(this.settings.ejectionBaseMs * 2 ** (h.ejections - 1), this.settings.ejectionMaxMs);
      h.ejectedUntil = now + d;
      h.consecutiveFailures = 0;
      // The window starts afresh after an ejection: the probe, not old failures, decides what comes next.
      h.attempts.reset();
      h.failures.reset();
      return true;
    }
    return false;
  }

  private mayEject(name: string, now: number): boolean {
    if (this.settings.maxEjectedPercent <= 0) return false;
    let out = 0;
    for (const [n, h] of this.byName) if (n !== name && now < h.ejectedUntil) out++;
    const allowed = Math.max(1, Math.floor((this.byName.size * this.settings.maxEjectedPercent) / 100));
    return out + 1 <= allowed;
  }

  private get(name: string): UpstreamHealth {
    const h = this.byName.get(name);
    if (h === undefined) throw new Error(`unknown upstream ${name}`);
    return h;
  }
}
