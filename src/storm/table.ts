import type { Summary } from './summary.ts';

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** The storm's results as a markdown table, one column per target, so direct and Spillway read side by side. */
export function summaryTable(scenario: string, summaries: readonly Summary[]): string {
  const rows: [string, (s: Summary) => string][] = [
    ['requests', (s) => String(s.requests)],
    ['success %', (s) => f1(s.successPct)],
    ['success % high / normal / low', (s) => ['high', 'normal', 'low'].map((p) => f1(s.successPctByPriority[p as 'high'] ?? NaN)).join(' / ')],
    ['latency p50 / p99 (ms)', (s) => `${f0(s.latencyP50Ms)} / ${f0(s.latencyP99Ms)}`],
    ['TTFT p50 / p99 (ms)', (s) => `${f0(s.ttftP50Ms)} / ${f0(s.ttftP99Ms)}`],
    ['time to error p50 / p90 (ms)', (s) => `${f0(s.errorP50Ms)} / ${f0(s.errorP90Ms)}`],
    ['silent truncations', (s) => String(s.silentTruncations)],
    ['amplification', (s) => f2(s.amplification)],
    ['wasted upstream answers', (s) => String(s.wasted)],
    ['failures', (s) => Object.entries(s.failures).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ') || '—'],
  ];
  const head = `| ${scenario} | ${summaries.map((s) => s.target).join(' | ')} |\n|---|${summaries.map(() => '---').join('|')}|\n`;
  return head + rows.map(([name, fn]) => `| ${name} | ${summaries.map(fn).join(' | ')} |`).join('\n');
}
