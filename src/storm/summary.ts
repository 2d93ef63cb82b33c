import type { Priority } from './arrivals.ts';
import type { Verdict } from './score.ts';

/** What the load generator recorded for one request. */
export interface RequestRecord {
  priority: Priority;
  stream: boolean;
  /** ms from the request's send to its end (answer read, error, or deadline). */
  latencyMs: number;
  /** ms from send to the first token (streams: first data event; non-stream: the answer). */
  ttftMs: number | undefined;
  verdict: Verdict;
  /** The request's planned send offset (ms from the storm's start): when in the storm it was sent. */
  sentAtMs?: number;
}

export interface Summary {
  target: string;
  requests: number;
  successes: number;
  successPct: number;
  successPctByPriority: Partial<Record<Priority, number>>;
  latencyP50Ms: number;
  latencyP99Ms: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  errorP50Ms: number;
  errorP90Ms: number;
  failures: Record<string, number>;
  silentTruncations: number;
  /** Upstream requests ÷ client requests. */
  amplification: number;
  /** Answers upstreams finished for clients that had already gone. */
  wasted: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);

export function summarize(target: string, records: readonly RequestRecord[], upstreamRequests: number, wasted: number): Summary {
  const ok = records.filter((r) => r.verdict.ok);
  const failed = records.filter((r) => !r.verdict.ok);
  const failures: Record<string, number> = {};
  let silent = 0;
  for (const r of failed) {
    if (r.verdict.ok) continue;
    failures[r.verdict.reason] = (failures[r.verdict.reason] ?? 0) + 1;
    if (r.verdict.silentTruncation) silent++;
  }
  const byPriority: Partial<Record<Priority, number>> = {};
  for (const p of ['high', 'normal', 'low'] as const) {
    const of = records.filter((r) => r.priority === p);
    if (of.length > 0) byPriority[p] = (100 * of.filter((r) => r.verdict.ok).length) / of.length;
  }
  const lat = sortNum(ok.map((r) => r.latencyMs));
  const ttft = sortNum(ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])));
  const err = sortNum(failed.map((r) => r.latencyMs));
  return {
    target,
    requests: records.length,
    successes: ok.length,
    successPct: records.length === 0 ? 0 : (100 * ok.length) / records.length,
    successPctByPriority: byPriority,
    latencyP50Ms: percentile(lat, 50),
    latencyP99Ms: percentile(lat, 99),
    ttftP50Ms: percentile(ttft, 50),
    ttftP99Ms: percentile(ttft, 99),
    errorP50Ms: percentile(err, 50),
    errorP90Ms: percentile(err, 90),
    failures,
    silentTruncations: silent,
    amplification: records.length === 0 ? 0 : upstreamRequests / records.length,
    wasted,
  };
}
