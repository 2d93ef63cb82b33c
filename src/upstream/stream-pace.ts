/**
 * The pace cut: a stream whose tokens come far slower than its upstream's usual pace is cut and continued exactly
 * elsewhere, instead of holding its slot (and its client) for many times the usual time. No silence is long
 * enough for the idle timeout (a token a second is "progress"), so only the pace shows it: an upstream that drops
 * one answer to a crawl (a bad replica, a preempted sequence, a throttled account) while its other answers stream
 * normally.
 *
 * Both conditions are needed, so a healthy answer is never cut:
 *  - anomalous: the attempt's mean gap between data events is at least `factor` × the upstream's typical gap (the
 *    median over its recent finished streams, so a tenth of slow answers does not move it) and at least `floorMs`;
 *  - worth it: at that pace, the tokens still expected (the request's `max_tokens` left, capped by the upstream's
 *    usual answer length) take at least `minGainMs` more, or end after the deadline. An answer about to end is left
 *    to end.
 * Judged only after `minEvents` data events (one late chunk is not a pace). An upstream slow for everyone is never
 * cut: its own typical gap is slow.
 *
 * A crawl short of that factor is cut only where it decides the request's fate: at its pace the answer would end
 * after the deadline (`missFactor` × the typical gap at least), while continued elsewhere — a time to first token
 * (`resumeMs`, the upstream's typical one) and the rest at the usual pace — it would end in time. A
 * request served close to its deadline on an upstream that slowed one answer eightfold was otherwise a 504. This
 * one is judged after `missMinEvents` data events.
 * Pure: the caller passes every time.
 * Hand-written: no library knows an LLM stream's pace against a deadline; it is the product's own recovery policy.
 */
export const PACE = {
  factor: 20,
  floorMs: 200,
  minEvents: 4,
  /** Time at the crawling pace a cut must save at least (else the answer is left to end). */
  minGainMs: 2_000,
  /** Finished streams before an upstream's typical gap and answer length are trusted. */
  minSamples: 20,
  /**
   * Data events that show a crawl which would miss the deadline: fewer than `minEvents`, because near a deadline
   * the time spent gathering evidence is the time a continuation needs (`spillway demo`: a crawl on `c` judged after
   * 4 of its 100 ms gaps had under 0.5 s left, too little to continue it elsewhere). The cut must still leave the
   * continuation time to end within the deadline, so a false alarm costs a continuation's work, not the answer.
   */
  missMinEvents: 2,
  /** A crawl that would miss the deadline: this many times the typical gap... */
  missFactor: 3,
  /** ...and at least this gap (ms). */
  missFloorMs: 30,
} as const;

export interface PaceWatch {
  /** The upstream's typical gap between data events (ms): the median per-attempt mean of its finished streams. */
  typicalGapMs: number;
  /** Data events still expected in this attempt; undefined when neither `max_tokens` nor a usual length is known. */
  expectedEvents: number | undefined;
  /**
   * What a continuation needs before its first token (ms), when known: the deadline rule's yardstick. The median,
   * not a high percentile: left alone the crawl misses its deadline for certain, so a continuation that will
   * typically end in time is the better bet (the p99, inflated by the storm's slowest moments to twice the median,
   * let crawls with a second left run into their deadline).
   */
  resumeMs?: number | undefined;
}

export interface PaceState {
  /** Data events received after the first one (the first token). */
  events: number;
  firstAt: number;
  lastAt: number;
  deadlineAt: number;
}

/** Whether the attempt should be cut for its pace now. */
export function tooSlow(w: PaceWatch, s: PaceState, p: typeof PACE = PACE): boolean {
  if (w.expectedEvents === undefined || s.events < Math.min(p.minEvents, p.missMinEvents)) return false;
  const gapMs = (s.lastAt - s.firstAt) / s.events;
  const left = Math.max(0, w.expectedEvents - (s.events + 1));
  const late = s.lastAt + left * gapMs > s.deadlineAt;
  if (s.events >= p.minEvents && gapMs >= Math.max(p.factor * w.typicalGapMs, p.floorMs))
    return left * gapMs >= p.minGainMs || late;
  if (!late || w.resumeMs === undefined || gapMs < Math.max(p.missFactor * w.typicalGapMs, p.missFloorMs)) return false;
  return s.lastAt + w.resumeMs + left * w.typicalGapMs <= s.deadlineAt;
}
