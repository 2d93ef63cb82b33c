/**
 * Turns two readings of the Prometheus registry (prom-client's getMetricsAsJSON) into what a person watching wants:
 * counters as rates per second, gauges as values, histograms as p50/p95/p99 over the window. Generic over metric
 * families, so a family another feature declares later (cache, jobs) shows up in the dashboard without a change
 * here. Pure: the readings and the time between them are passed in. What PromQL's rate() and
 * histogram_quantile() do, for a process that has no Prometheus next to it.
 */
import type { Registry } from 'prom-client';

export type Labels = Record<string, string>;

interface MetricSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  values: MetricSample[];
}

export interface Quantiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Observations per second over the window. */
  perSecond: number;
}

export type FamilyView =
  | { name: string; help: string; type: 'counter'; series: { labels: Labels; perSecond: number; total: number }[] }
  | { name: string; help: string; type: 'gauge'; series: { labels: Labels; value: number }[] }
  | { name: string; help: string; type: 'histogram'; series: ({ labels: Labels } & Quantiles)[]; all: Quantiles };

/**
 * A reading of the registry that later increments do not change: prom-client hands out its live value objects, so
 * a kept reading would otherwise move with the counters and every rate would read zero. Only the families `keep`
 * names are collected at all: prom-client's process metrics list every open descriptor and handle when collected,
 * work that grows with every connection (16,000 of them at 8,000 streams) and that a reader who drops them anyway
 * should not pay every second.
 */
export async function readRegistry(
  registry: Pick<Registry, 'getMetricsAsArray' | 'getSingleMetric'>,
  keep: (name: string) => boolean = () => true,
): Promise<MetricFamily[]> {
  const names = registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter(keep);
  // `get()` is async at runtime (collect callbacks), whatever prom-client's types say.
  const families = (await Promise.all(names.map(async (n) => registry.getSingleMetric(n)?.get()))).filter(
    (f) => f !== undefined,
  ) as unknown as MetricFamily[];
  return families.map((f) => ({
    name: f.name,
    help: f.help,
    type: f.type,
    values: f.values.map((v) => ({
      value: v.value,
      labels: { ...v.labels },
      ...(v.metricName === undefined ? {} : { metricName: v.metricName }),
    })),
  }));
}

function labelKey(labels: Record<string, string | number>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`)
    .join(',');
}

function stringLabels(labels: Record<string, string | number>, drop?: string): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (k !== drop) out[k] = String(v);
  return out;
}

/**
 * The q-quantile of a histogram from its cumulative bucket counts (sorted by `le`, the last +Inf), interpolating
 * linearly inside the bucket as Prometheus does; the highest finite bound when it falls in +Inf; null when empty.
 */
export function histogramQuantile(q: number, buckets: readonly (readonly [number, number])[]): number | null {
  const last = buckets[buckets.length - 1];
  if (last === undefined || last[1] <= 0) return null;
  const rank = q * last[1];
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

function quantiles(buckets: Map<number, number>, count: number, dtS: number): Quantiles {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  return {
    p50: histogramQuantile(0.5, sorted),
    p95: histogramQuantile(0.95, sorted),
    p99: histogramQuantile(0.99, sorted),
    perSecond: dtS > 0 ? count / dtS : 0,
  };
}

/**
 * The view of each family in `cur`, with counters and histograms over the time since `prev` (`dtS` seconds). A
 * series absent from `prev` counts from zero (it was born in the window); a counter that went down (a restart)
 * counts from zero too.
 */
export function viewFamilies(prev: readonly MetricFamily[], cur: readonly MetricFamily[], dtS: number): FamilyView[] {
  const before = new Map<string, number>();
  for (const f of prev)
    for (const v of f.values) before.set(`${v.metricName ?? f.name}{${labelKey(v.labels)}}`, v.value);
  const delta = (f: MetricFamily, v: MetricSample): number => {
    const was = before.get(`${v.metricName ?? f.name}{${labelKey(v.labels)}}`) ?? 0;
    return v.value >= was ? v.value - was : v.value;
  };
  const out: FamilyView[] = [];
  for (const f of cur) {
    if (f.type === 'counter') {
      out.push({
        name: f.name,
        help: f.help,
        type: 'counter',
        series: f.values.map((v) => ({
          labels: stringLabels(v.labels),
          perSecond: dtS > 0 ? delta(f, v) / dtS : 0,
          total: v.value,
        })),
      });
    } else if (f.type === 'gauge') {
      out.push({
        name: f.name,
        help: f.help,
        type: 'gauge',
        series: f.values.map((v) => ({ labels: stringLabels(v.labels), value: v.value })),
      });
    } else if (f.type === 'histogram') {
      const series = new Map<string, { labels: Labels; buckets: Map<number, number>; count: number }>();
      const all = { buckets: new Map<number, number>(), count: 0 };
      for (const v of f.values) {
        const labels = stringLabels(v.labels, 'le');
        const key = labelKey(labels);
        let s = series.get(key);
        if (s === undefined) series.set(key, (s = { labels, buckets: new Map(), count: 0 }));
        const d = delta(f, v);
        if (v.metricName?.endsWith('_bucket') === true) {
          const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
          s.buckets.set(le, d);
          all.buckets.set(le, (all.buckets.get(le) ?? 0) + d);
        } else if (v.metricName?.endsWith('_count') === true) {
          s.count = d;
          all.count += d;
        }
      }
      out.push({
        name: f.name,
        help: f.help,
        type: 'histogram',
        series: [...series.values()].map((s) => ({ labels: s.labels, ...quantiles(s.buckets, s.count, dtS) })),
        all: quantiles(all.buckets, all.count, dtS),
      });
    }
  }
  return out;
}

/** Sum of a counter family's rates over the series whose labels match `where` (every given label equal). */
export function sumRate(
  views: readonly FamilyView[],
  name: string,
  where: (l: Labels) => boolean = () => true,
): number {
  const f = views.find((v) => v.name === name);
  if (f?.type !== 'counter') return 0;
  let s = 0;
  for (const x of f.series) if (where(x.labels)) s += x.perSecond;
  return s;
}

/** Rates of a counter family grouped by one label: { labelValue: perSecond }, zero rates left out. */
export function ratesBy(views: readonly FamilyView[], name: string, label: string): Record<string, number> {
  const f = views.find((v) => v.name === name);
  const out: Record<string, number> = {};
  if (f?.type !== 'counter') return out;
  for (const x of f.series) {
    const k = x.labels[label] ?? '';
    if (x.perSecond > 0) out[k] = (out[k] ?? 0) + x.perSecond;
  }
  return out;
}
