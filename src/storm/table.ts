import type { Summary } from './summary.ts';

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** The rows every storm table shows, in order: what a client got, then what it cost the fleet. */
const ROWS: [string, (s: Summary) => string][] = [
  ['requests', (s) => String(s.requests)],
  ['success %', (s) => f1(s.successPct)],
  [
    'success % high / normal / low',
    (s) => ['high', 'normal', 'low'].map((p) => f1(s.successPctByPriority[p as 'high'] ?? NaN)).join(' / '),
  ],
  ['latency p50 / p99 (ms)', (s) => `${f0(s.latencyP50Ms)} / ${f0(s.latencyP99Ms)}`],
  ['TTFT p50 / p99 (ms)', (s) => `${f0(s.ttftP50Ms)} / ${f0(s.ttftP99Ms)}`],
  ['time to error p50 / p90 (ms)', (s) => `${f0(s.errorP50Ms)} / ${f0(s.errorP90Ms)}`],
  [
    'refusals (time to refusal p50 / p90 ms)',
    (s) => (Number.isFinite(s.refusals) ? `${s.refusals} (${f0(s.refusalP50Ms)} / ${f0(s.refusalP90Ms)})` : '—'),
  ],
  ['late refusals (> 1 s)', (s) => f0(s.lateRefusals)],
  ['upstream "busy" relayed to clients', (s) => f0(s.upstreamBusyRelayed)],
  ['invalid JSON / blank bodies relayed', (s) => f0(s.invalidBodies)],
  ['silent truncations', (s) => f0(s.silentTruncations)],
  ['waited past the deadline', (s) => f0(s.pastDeadline)],
  ['amplification', (s) => f2(s.amplification)],
  ['wasted upstream answers', (s) => f0(s.wasted)],
  [
    'peak in flight / cap, per upstream',
    (s) => s.peaks?.map((p) => `${p.upstream} ${p.peak}/${p.cap ?? '—'}`).join(', ') ?? '—',
  ],
  [
    'failures',
    (s) =>
      Object.entries(s.failures)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || '—',
  ],
];

/** SDK-like clients only: how often the advertised Retry-After was worth trusting. */
const RETRY_ROW: [string, (s: Summary) => string] = [
  'retry-after trusted (retries that succeeded)',
  (s) => (Number.isFinite(s.retries) ? `${s.retriesOk} of ${s.retries}` : '—'),
];

/** The storm's results as a markdown table, one column per target, so direct, Spillway and best possible read side by side. */
export function summaryTable(scenario: string, summaries: readonly Summary[]): string {
  const rows = summaries.some((s) => s.retries > 0) ? [...ROWS.slice(0, -1), RETRY_ROW, ...ROWS.slice(-1)] : ROWS;
  const head = `| ${scenario} | ${summaries.map((s) => s.target).join(' | ')} |\n|---|${summaries.map(() => '---').join('|')}|\n`;
  return head + rows.map(([name, fn]) => `| ${name} | ${summaries.map(fn).join(' | ')} |`).join('\n');
}

/** One fault-matrix row: the fault, then each target's summary and the best-possible one last. */
export interface MatrixRow {
  fault: string;
  summaries: readonly Summary[];
}

/**
 * The fault matrix as one table: a row per single fault, each cell the targets' values side by side in the order
 * of the header ("direct / spillway"), success % with the best possible beside it.
 */
export function matrixTable(rows: readonly MatrixRow[]): string {
  const first = rows[0]?.summaries ?? [];
  const targets = first
    .filter((s) => s.target !== 'best possible')
    .map((s) => s.target)
    .join(' / ');
  const each = (r: MatrixRow, fn: (s: Summary) => string) =>
    r.summaries
      .filter((s) => s.target !== 'best possible')
      .map(fn)
      .join(' / ');
  const best = (r: MatrixRow) => f1(r.summaries.find((s) => s.target === 'best possible')?.successPct ?? NaN);
  const cols: [string, (r: MatrixRow) => string][] = [
    [`success % (${targets})`, (r) => each(r, (s) => f1(s.successPct))],
    ['best possible %', best],
    ['high %', (r) => each(r, (s) => f1(s.successPctByPriority.high ?? NaN))],
    ['waited past deadline', (r) => each(r, (s) => f0(s.pastDeadline))],
    ['silent truncations', (r) => each(r, (s) => f0(s.silentTruncations))],
    ['invalid / blank bodies', (r) => each(r, (s) => f0(s.invalidBodies))],
    ['upstream busy relayed', (r) => each(r, (s) => f0(s.upstreamBusyRelayed))],
    ['time to error p90 (ms)', (r) => each(r, (s) => f0(s.errorP90Ms))],
    ['amplification', (r) => each(r, (s) => f2(s.amplification))],
    [
      'top failure',
      (r) =>
        each(
          r,
          (s) =>
            Object.entries(s.failures)
              .sort((a, b) => b[1] - a[1])[0]
              ?.join(': ') ?? '—',
        ),
    ],
  ];
  const head = `| fault | ${cols.map(([c]) => c).join(' | ')} |\n|---|${cols.map(() => '---').join('|')}|\n`;
  return head + rows.map((r) => `| ${r.fault} | ${cols.map(([, fn]) => fn(r)).join(' | ')} |`).join('\n');
}
