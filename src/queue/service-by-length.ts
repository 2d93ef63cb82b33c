import { planeSlopes } from '../least-squares.ts';
import { WindowCounter } from '../window-counter.ts';

/** Answers with a length limit in the window before the line through them is trusted. */
const MIN_SAMPLES = 20;
/** However steep the line, one request is not predicted shorter or longer than this share of the mean... */
const MIN_FACTOR = 0.25;
/** ...or this multiple of it. */
const MAX_FACTOR = 4;

/**
 * How long a request will hold its slot, from the length limit it set (`max_tokens`) and its prompt's length: a
 * least-squares plane through the hold times of recent answers against both, as a factor on the mean hold time.
 *
 * Why the door needs it: a deadline test with the mean service time for everyone refuses, at the edge of the
 * deadline horizon, a 300 ms answer and a 3 s one alike. With each request's own expected time, the door refuses
 * exactly those that cannot finish — the long ones first — and the fleet finishes more requests in the same time,
 * which is rule 1 ("finish as many requests as their deadlines allow"). The best-possible replay, which knows each
 * answer's length, serves shorter answers at the edge the same way (`spillway demo`: 3% shorter on average). The
 * prompt counts where it varies: its prefill is part of the hold (a RAG context of 4 000 tokens beside a chat turn).
 *
 * Learned, not configured: where the limit says nothing about the length (limits far above what models write, or
 * set alike for everyone), its slope is 0, and so is the prompt's where prompts are alike or their prefill is lost
 * in the noise; with both flat every factor is 1 — the mean, as before. A request without a limit gets the mean
 * too. Pure: time is passed in.
 */
export class ServiceByLength {
  /** Window sums: count, x1 (limit), x2 (prompt), y (hold), and their products. */
  private readonly sums: Record<SumName, WindowCounter>;

  constructor(windowMs: number, now: number) {
    const counter = () => new WindowCounter(windowMs, now);
    this.sums = {
      n: counter(),
      x1: counter(),
      x2: counter(),
      y: counter(),
      x1x1: counter(),
      x2x2: counter(),
      x1x2: counter(),
      x1y: counter(),
      x2y: counter(),
    };
  }

  /** An answer of a request with this limit (and prompt, in tokens) completed after holding its slot `heldMs`. */
  add(maxTokens: number | undefined, heldMs: number, now: number, promptTokens?: number): void {
    if (!usable(maxTokens)) return;
    const x2 = usable(promptTokens) ? promptTokens : 0;
    const s = this.sums;
    s.n.add(now);
    s.x1.add(now, maxTokens);
    s.x2.add(now, x2);
    s.y.add(now, heldMs);
    s.x1x1.add(now, maxTokens * maxTokens);
    s.x2x2.add(now, x2 * x2);
    s.x1x2.add(now, maxTokens * x2);
    s.x1y.add(now, maxTokens * heldMs);
    s.x2y.add(now, x2 * heldMs);
  }

  /** A request with this limit (and prompt) holds its slot about this multiple of the mean hold time (1 when unknown). */
  factor(maxTokens: number | undefined, now: number, promptTokens?: number): number {
    if (!usable(maxTokens)) return 1;
    const t = (k: SumName) => this.sums[k].total(now);
    const n = t('n');
    if (n < MIN_SAMPLES) return 1;
    const m1 = t('x1') / n;
    const m2 = t('x2') / n;
    const my = t('y') / n;
    if (my <= 0) return 1;
    const [b1, b2] = planeSlopes({
      v11: t('x1x1') / n - m1 * m1,
      v22: t('x2x2') / n - m2 * m2,
      v12: t('x1x2') / n - m1 * m2,
      c1y: t('x1y') / n - m1 * my,
      c2y: t('x2y') / n - m2 * my,
    });
    const x2 = usable(promptTokens) ? promptTokens : m2;
    const predicted = my + b1 * (maxTokens - m1) + b2 * (x2 - m2);
    return Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, predicted / my));
  }
}

type SumName = 'n' | 'x1' | 'x2' | 'y' | 'x1x1' | 'x2x2' | 'x1x2' | 'x1y' | 'x2y';

/**
 * A limit the line may use: an integer whose square still sums exactly. A client's `max_tokens` of 1e308 (valid JSON,
 * and an upstream that ignores limits answers it) squared is Infinity: learned, it made every factor NaN for the
 * window, and a NaN service time admits everyone and times every waiting request out at once.
 */
function usable(maxTokens: number | undefined): maxTokens is number {
  return maxTokens !== undefined && Number.isSafeInteger(maxTokens);
}
