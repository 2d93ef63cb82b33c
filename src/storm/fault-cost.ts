import { DEFAULT_SLOW_TOKEN_MS, type FaultKind, type FaultRates } from '../mock/random-faults.ts';

/** What a request of `tokens` tokens costs on one upstream class without faults: its TTFT at load and its pace. */
export interface ClassPace {
  ttftMs: number;
  tokenMs: number;
}

/**
 * The slot time one fault costs at the least, whoever schedules (the best-possible column's fault model). Every
 * figure is a floor, so the column stays an upper bound:
 * - refused at once (500, 429, 503, a reset before headers): the simulator takes no slot — 0;
 * - cut inside the answer (reset, stall, truncated body) after k tokens: the slot was busy until token k with no
 *   time spent noticing (a real detector needs more). A stream is continued exactly from token k, so what is lost
 *   is the continuation's own time to first token; a non-stream answer has no continuation, so the partial work
 *   is lost too. The cut point is uniform over the answer: k ≈ tokens / 2;
 * - crawling tokens: noticed after one slow gap, then continued elsewhere: one slow gap and a time to first token —
 *   on an upstream that stops generating when its client leaves. One that generates on (`continueAfterAbort`) holds
 *   the slot for the whole slow answer whoever leaves it, so the least cost there is letting it end: each of its
 *   gaps' extra time (a cut would add the continuation's work on top);
 * - a blank or wrong 200, keep-alives forever: counted as free (their cost depends on when a gateway gives up).
 */
export function leastFaultCostMs(
  kind: FaultKind,
  tokens: number,
  stream: boolean,
  pace: ClassPace,
  slowTokenMs: number,
  generatesOn = false,
): number {
  const partialMs = pace.ttftMs + Math.max(0, tokens / 2 - 1) * pace.tokenMs;
  switch (kind) {
    case 'error500':
    case 'error429':
    case 'error503':
    case 'resetBeforeHeaders':
    case 'blank200':
    case 'keepAliveForever':
    case 'wrongContentType':
      return 0;
    case 'stallBeforeFirstToken':
      return pace.ttftMs;
    case 'resetMidStream':
    case 'stall':
    case 'stallMidStream':
    case 'truncatedBody':
      return stream ? pace.ttftMs : partialMs;
    case 'slowTokens':
      return generatesOn
        ? Math.max(0, tokens - 1) * Math.max(0, slowTokenMs - pace.tokenMs)
        : slowTokenMs + pace.ttftMs;
  }
}

/** The expected least fault cost per request on a class with these fault rates (Σ rate × cost). */
export function expectedFaultCostMs(
  rates: FaultRates | undefined,
  tokens: number,
  stream: boolean,
  pace: ClassPace,
  generatesOn = false,
): number {
  if (rates === undefined) return 0;
  let ms = 0;
  for (const [kind, rate] of Object.entries(rates)) {
    if (kind === 'slowTokenMs' || typeof rate !== 'number' || rate <= 0) continue;
    const slowMs = rates.slowTokenMs ?? DEFAULT_SLOW_TOKEN_MS;
    ms += rate * leastFaultCostMs(kind as FaultKind, tokens, stream, pace, slowMs, generatesOn);
  }
  return ms;
}
