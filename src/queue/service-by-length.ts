import { WindowCounter } from '../window-counter.ts';

/** Answers with a length limit in the window before the line through them is trusted. */
const MIN_SAMPLES = 20;
/** However steep the line, one request is not predicted shorter or longer than this share of the mean... */
const MIN_FACTOR = 0.25;
/** ...or this multiple of it. */
const MAX_FACTOR = 4;

/**
 * How long a request will hold its slot, from the length limit it set (`max_tokens`): a least-squares line through
 * the hold times of recent answers against their limits, as a factor on the mean hold time.
 *
 * Why the door needs it: a deadline test with the mean service time for everyone refuses, at the edge of the
 * deadline horizon, a 300 ms answer and a 3 s one alike. With each request's own expected time, the door refuses
 * exactly those that cannot finish — the long ones first — and the fleet finishes more requests in the same time,
 * which is rule 1 ("finish as many requests as their deadlines allow"). The best-possible replay, which knows each
 * answer's length, serves shorter answers at the edge the same way (`spillway demo`: 3% shorter on average).
 *
 * Learned, not configured: where the limit says nothing about the length (limits far above what models write, or
 * set alike for everyone), the line is flat and every factor is 1 — the mean, as before. A request without a limit
 * gets the mean too. Pure: time is passed in.
 */
export class ServiceByLength {
  private readonly n: WindowCounter;
  private readonly sx: WindowCounter;
  private readonly sy: WindowCounter;
  private readonly sxx: WindowCounter;
  private readonly sxy: WindowCounter;

  constructor(windowMs: number, now: number) {
    this.n = new WindowCounter(windowMs, now);
    this.sx = new WindowCounter(windowMs, now);
    this.sy = new WindowCounter(windowMs, now);
    this.sxx = new WindowCounter(windowMs, now);
    this.sxy = new WindowCounter(windowMs, now);
  }

  /** An answer of a request with this limit completed after holding its slot `heldMs`. */
  add(maxTokens: number | undefined, heldMs: number, now: number): void {
    if (!usable(maxTokens)) return;
    this.n.add(now);
    this.sx.add(now, maxTokens);
    this.sy.add(now, heldMs);
    this.sxx.add(now, maxTokens * maxTokens);
    this.sxy.add(now, maxTokens * heldMs);
  }

  /** A request with this limit holds its slot about this multiple of the mean hold time (1 when nothing is known). */
  factor(maxTokens: number | undefined, now: number): number {
    if (!usable(maxTokens)) return 1;
    const n = this.n.total(now);
    if (n < MIN_SAMPLES) return 1;
    const mx = this.sx.total(now) / n;
    const my = this.sy.total(now) / n;
    const varX = this.sxx.total(now) / n - mx * mx;
    const cov = this.sxy.total(now) / n - mx * my;
    // A flat or falling line (limits that do not predict lengths, or noise) is no reason to treat requests apart.
    if (my <= 0 || varX <= 1e-9 || cov <= 0) return 1;
    const predicted = my + (cov / varX) * (maxTokens - mx);
    return Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, predicted / my));
  }
}

/**
 * A limit the line may use: an integer whose square still sums exactly. A client's `max_tokens` of 1e308 (valid JSON,
 * and an upstream that ignores limits answers it) squared is Infinity: learned, it made every factor NaN for the
 * window, and a NaN service time admits everyone and times every waiting request out at once.
 */
function usable(maxTokens: number | undefined): maxTokens is number {
  return maxTokens !== undefined && Number.isSafeInteger(maxTokens);
}
