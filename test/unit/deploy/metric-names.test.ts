import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Metrics } from '../../../src/observe/metrics.ts';

/** Every `spillway_*` name that docs/metrics.md mentions in backquotes (the table and the process-metric list). */
const documented = new Set([...readFileSync('docs/metrics.md', 'utf8').matchAll(/`(spillway_[a-z0-9_]+)`/g)].map((m) => m[1] as string));

/** The metric a PromQL name refers to: a histogram's `_bucket`, `_sum` and `_count` series belong to the histogram. */
function metricOf(series: string): string {
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return documented.has(base) ? base : series;
}

function metricsIn(promql: string): string[] {
  return [...promql.matchAll(/\bspillway_[a-z0-9_]+/g)].map((m) => metricOf(m[0]));
}

/** Every string value under a key named `expr` or `query`/`definition` (Grafana templating), at any depth. */
function queries(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) queries(n, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string' && (k === 'expr' || k === 'query' || k === 'definition' || k === 'seriesQuery')) out.push(v);
      else queries(v, out);
    }
  }
  return out;
}

async function registryNames(): Promise<Set<string>> {
  return new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
}

const dashboard = JSON.parse(readFileSync('deploy/grafana/dashboards/spillway.json', 'utf8')) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
const alerts = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };

test('the Grafana dashboard queries only metrics listed in docs/metrics.md and exported by the registry', async () => {
  const registered = await registryNames();
  const used = queries(dashboard).flatMap(metricsIn);
  assert.ok(used.length > 30, `the dashboard queries Spillway's metrics (${used.length} references)`);
  for (const m of used) {
    assert.ok(documented.has(m), `the dashboard uses ${m}, which docs/metrics.md does not list`);
    assert.ok(registered.has(m), `the dashboard uses ${m}, which src/observe/metrics.ts does not export`);
  }
});

test('every Grafana panel has a query, and the dashboard shows the upstream, queue, shed and latency signals', () => {
  const graphs = dashboard.panels.filter((p) => p.type !== 'row');
  for (const p of graphs) assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no query`);
  const used = new Set(queries(dashboard).flatMap(metricsIn));
  for (const m of ['spillway_upstream_healthy', 'spillway_upstream_in_flight', 'spillway_upstream_attempts_total', 'spillway_queue_depth', 'spillway_queue_wait_seconds', 'spillway_shed_total', 'spillway_requests_total', 'spillway_request_duration_seconds', 'spillway_retry_stops_total']) {
    assert.ok(used.has(m), `the dashboard shows ${m}`);
  }
  const ids = graphs.map((p) => (p as unknown as { id: number }).id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

test('the alert rules use only documented, exported metrics, and cover the five alerts of issue #8', async () => {
  const registered = await registryNames();
  const rules = alerts.groups.flatMap((g) => g.rules);
  for (const r of rules) {
    for (const m of metricsIn(r.expr)) {
      assert.ok(documented.has(m), `alert ${r.alert} uses ${m}, which docs/metrics.md does not list`);
      assert.ok(registered.has(m), `alert ${r.alert} uses ${m}, which src/observe/metrics.ts does not export`);
    }
  }
  const names = new Set(rules.map((r) => r.alert));
  for (const a of ['SpillwayUpstreamDown', 'SpillwayHighErrorRatio', 'SpillwayHighShedRatio', 'SpillwayQueueWaitHigh', 'SpillwayRetryBudgetExhausted']) {
    assert.ok(names.has(a), `alert ${a} exists`);
  }
});

test('the Prometheus adapter rules serve documented metrics under the names the chart HPA asks for', () => {
  const adapter = parse(readFileSync('deploy/helm/prometheus-adapter-values.yaml', 'utf8')) as { rules: { custom: { seriesQuery: string; name: { as: string } }[] } };
  const served = new Set(adapter.rules.custom.map((r) => r.name.as));
  for (const m of queries(adapter).flatMap(metricsIn)) assert.ok(documented.has(m), `the adapter reads ${m}, which docs/metrics.md does not list`);
  const hpa = readFileSync('deploy/helm/spillway/templates/hpa.yaml', 'utf8');
  const asked = [...hpa.matchAll(/metric:\s*\n\s*name: (\S+)/g)].map((m) => m[1] as string);
  assert.deepEqual(asked.sort(), [...served].sort(), 'every custom metric the HPA uses is served by an adapter rule, and no rule is unused');
});

test('the Grafana panels fit the 24-column grid without overlapping, all on the dashboard data-source variable', () => {
  type Panel = { id: number; title: string; type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string } };
  const panels = dashboard.panels as unknown as Panel[];
  const vars = (dashboard as unknown as { templating: { list: { name: string; type: string }[] } }).templating.list;
  assert.ok(vars.some((v) => v.name === 'datasource' && v.type === 'datasource'), 'a data-source variable');
  const cells = new Map<string, string>();
  for (const p of panels) {
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `panel "${p.title}" fits the grid`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const other = cells.get(`${x},${y}`);
        assert.equal(other, undefined, `panel "${p.title}" overlaps "${other ?? ''}"`);
        cells.set(`${x},${y}`, p.title);
      }
    }
    if (p.type !== 'row') assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the data-source variable`);
  }
});
