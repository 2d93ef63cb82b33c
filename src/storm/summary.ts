import { percentile } from '../percentile.ts';
import type { RequestPriority } from '../priority.ts';
import type { Verdict } from './score.ts';

/** What the load generator recorded for one request. */
export interface RequestRecord {
  priority: RequestPriority;
  stream: boolean;
  /** ms from the request's send to its end (answer read, error, or deadline). */
  latencyMs: number;
  /** ms from send to the first token (streams: first data event; non-stream: the answer). */
  ttftMs: number | undefined;
  verdict: Verdict;
  /** The request's planned send offset (ms from the storm's start): when in the storm it was sent. */
  sentAtMs?: number;
  // What the storm client records besides (older records and other benches leave these out):
  /** The planned request's number in the storm. */
  index?: number;
  maxTokens?: number;
  /** The prompt's length in tokens, when the storm's mix set one. */
  promptTokens?: number;
  /** When it was really sent, and when its answer ended (after the retry, if any), in ms from the storm's start. */
  arrivalMs?: number;
  endMs?: number;
  /** 'ok' or the failure reason of the verdict. */
  outcome?: string;
  /** HTTP status of the (last) answer; 0 when none came (connection failed, or the client's deadline passed). */
  status?: number;
  /** The error's code (status body, or in-band error), when there was one. */
  errorCode?: string;
  /** The whole, correct answer arrived (= verdict.ok). */
  complete?: boolean;
  /** A non-stream 200 whose body was blank or not a JSON chat completion. */
  invalidBody?: 'blank' | 'invalid_json';
  /** A stream that ended cleanly without [DONE] and without an error event. */
  silentTruncation?: boolean;
  /** The client was handed an upstream's own 429/503 "busy" (on the first attempt or the retry). */
  upstreamBusy?: boolean;
  /** Time to the first answer when it was a refusal (429/503, or an error before any content). */
  refusalMs?: number;
  /** The client waited its whole deadline and gave up. */
  pastDeadline?: boolean;
  /** SDK-like clients: the one retry at the advertised Retry-After, and whether it got the answer. */
  retry?: { afterS: number; ok: boolean; status: number };
}

export interface Summary {
  target: string;
  requests: number;
  successes: number;
  successPct: number;
  successPctByPriority: Partial<Record<RequestPriority, number>>;
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
  /** Refusals (429/503 or an error before any content) and their time to refusal. */
  refusals: number;
  refusalP50Ms: number;
  refusalP90Ms: number;
  /** Refusals that came after more than LATE_REFUSAL_MS. */
  lateRefusals: number;
  /** Failures that carried an upstream's own "busy" answer to the client. */
  upstreamBusyRelayed: number;
  /** Non-stream 200s whose body was blank or not a JSON chat completion. */
  invalidBodies: number;
  /** Requests whose client waited its whole deadline. */
  pastDeadline: number;
  /** SDK-like clients: retries at the advertised Retry-After, and how many got their answer. */
  retries: number;
  retriesOk: number;
  /**
   * Per upstream, the most requests it held at once (its own count, queued ones included) beside the cap the user's
   * config would give it: a cap exceeded together (several instances) shows here. Absent where not measured.
   */
  peaks?: readonly UpstreamPeak[];
}

interface UpstreamPeak {
  upstream: string;
  peak: number;
  /** The upstream's `max_concurrency` in the scenario's config (even when the run kept it from the gateway). */
  cap: number | undefined;
}

/** A refusal later than this is late: a client learns too late to go elsewhere (the rule: ≤ 50 ms p90). */
const LATE_REFUSAL_MS = 1000;

const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);

export function summarize(
  target: string,
  records: readonly RequestRecord[],
  upstreamRequests: number,
  wasted: number,
): Summary {
  const ok = records.filter((r) => r.verdict.ok);
  const failed = records.filter((r) => !r.verdict.ok);
  const failures: Record<string, number> = {};
  let silent = 0;
  for (const r of failed) {
    if (r.verdict.ok) continue;
    failures[r.verdict.reason] = (failures[r.verdict.reason] ?? 0) + 1;
    if (r.silentTruncation ?? r.verdict.silentTruncation) silent++;
  }
  const refused = sortNum(records.flatMap((r) => (r.refusalMs === undefined ? [] : [r.refusalMs])));
  const count = (f: (r: RequestRecord) => boolean | undefined) => records.filter((r) => f(r) === true).length;
  const byPriority: Partial<Record<RequestPriority, number>> = {};
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
    refusals: refused.length,
    refusalP50Ms: percentile(refused, 50),
    refusalP90Ms: percentile(refused, 90),
    lateRefusals: refused.filter((ms) => ms > LATE_REFUSAL_MS).length,
    upstreamBusyRelayed: count((r) => r.upstreamBusy),
    invalidBodies: count((r) => r.invalidBody !== undefined),
    pastDeadline: count((r) => r.pastDeadline),
    retries: count((r) => r.retry !== undefined),
    retriesOk: count((r) => r.retry?.ok),
  };
}
