import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import type { Balancer, UpstreamSnapshot } from '../balance/balancer.ts';
import type { AdmissionQueue } from '../queue/admission-queue.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { FinishedRequest, RequestLog, RequestRecord } from '../observe/request-log.ts';
import { HoltForecast } from '../observe/forecast.ts';
import { capacityRps } from '../observe/capacity.ts';
import { WindowCounter } from '../window-counter.ts';
import { sampleKind } from './sample-kind.ts';
import {
  ratesBy,
  readRegistry,
  sumRate,
  viewFamilies,
  type FamilyView,
  type MetricFamily,
  type Quantiles,
} from '../observe/metric-rates.ts';

/** Rates and percentiles are taken over this much recent time: long enough to be steady, short enough to be live. */
const WINDOW_MS = 5_000;
/** Points kept for the dashboard's charts (one per sample): five minutes at one a second. */
const HISTORY = 300;
/** How far ahead the demand forecast looks (the spillway_demand_forecast_rps metric's horizon_seconds). */
const FORECAST_HORIZON_S = 60;
/** Holt time constants: the level follows within ~5 s, the trend ignores bursts shorter than ~20 s. */
const HOLT = { levelTauS: 5, trendTauS: 20 };
/** Codes that mean the gateway refused the request on purpose (admission), not that something broke. */
const SHED_CODES = new Set([
  'rate_limited',
  'deadline_unmeetable',
  'queue_full',
  'queue_timeout',
  'no_capacity',
  'draining',
]);
/** Process metrics (CPU, heap, event loop) are for Prometheus; the live view keeps to the gateway's own. */
const OWN_FAMILY = /^spillway_(?!process_|nodejs_)/;

/** What the sampler reads: the objects of the config in force (a reload swaps them) and the process-wide ones. */
export interface StatsSources {
  clock: Clock;
  metrics: Metrics;
  requestLog: RequestLog;
  live(): { config: Config; balancer: Balancer; queue: AdmissionQueue };
  requestsInFlight(): number;
  info(): StatsFrame['config'];
}

/** One chart point per sample (compact: the SSE history and the charts' x axis). */
export interface StatsPoint {
  t: number;
  /** Finished requests per second, and of those: admitted (not shed), ok, shed, failed; retries made. */
  rps: number;
  admitted: number;
  ok: number;
  shed: number;
  failed: number;
  retried: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  ttft50: number | null;
  ttft95: number | null;
  queued: number;
  inFlight: number;
  tokensPerMin: number;
  demand: number | null;
  forecast: number | null;
  capacity: number | null;
}

export interface StatsFrame {
  at: string;
  windowS: number;
  /** The config in force: its file, when it was loaded, reloads so far, replaced pipelines still finishing requests. */
  config: { source: string; loadedAt: string; reloads: number; replacedStillFinishing: number };
  point: StatsPoint;
  upstreams: (UpstreamSnapshot & { attempts: Record<string, number> })[];
  queue: { depth: Record<string, number>; waitP95S: Record<string, number | null> };
  /** Per second, by reason or code. */
  shedReasons: Record<string, number>;
  failures: Record<string, number>;
  retries: Record<string, number>;
  /** Share of answered requests that came from the cache (x-spillway-cache: hit or coalesced); null with no cache. */
  cacheHitRatio: number | null;
  /**
   * Share of prompt tokens the upstreams' own context cache held (DeepSeek's prompt_cache_hit_tokens out of hit +
   * miss), since start; null until an upstream reports the split.
   */
  promptCacheHitRatio: number | null;
  forecast: {
    horizonS: number;
    demandRps: number | null;
    trendPerS: number;
    forecastRps: number | null;
    capacityRps: number | null;
    utilization: number | null;
  };
  /** Every spillway_ family, generically: counters as rates, gauges as values, histograms as quantiles. */
  families: FamilyView[];
  recent: RequestRecord[];
}

/**
 * Once a second (and on demand), reads the Prometheus registry and the live gateway objects and builds one frame for
 * the dashboard and GET /admin/stats; keeps the recent points for the charts; feeds the demand forecast and sets its
 * gauges (so they exist for Prometheus and an autoscaler whether or not anyone watches the dashboard).
 *
 * While the gateway is quiet and no one watches (sample-kind.ts), a beat skips the registry: it carries the last
 * reading forward, adds the all-zero chart point a full sample would have given and feeds the forecast. The first
 * request, or the first viewer, brings full samples back at the next beat; GET /admin/stats samples afresh when
 * the latest frame is older than the last beat.
 */
export class StatsSampler {
  private readonly src: StatsSources;
  private readonly intervalMs: number;
  private readings: { at: number; families: MetricFamily[] }[] = [];
  private readonly points: StatsPoint[] = [];
  private readonly demand = new HoltForecast(HOLT);
  private lastArrivals: { at: number; count: number } | undefined;
  private readonly cache = new Map<string, WindowCounter>();
  private latestFrame: StatsFrame | undefined;
  private readonly listeners = new Set<(f: StatsFrame) => void>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<StatsFrame> | undefined;
  /** Requests finished so far, and at the previous beat: a request that came and went between beats is seen. */
  private finished = 0;
  private finishedAtBeat = 0;
  /** Beats so far, and the beat whose state the latest frame shows (a quiet beat builds no frame). */
  private beats = 0;
  private frameBeat = -1;

  constructor(src: StatsSources, intervalMs = 1000) {
    this.src = src;
    this.intervalMs = intervalMs;
  }

  start(): void {
    if (this.timer !== undefined) return;
    void this.sample();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Counts what the cache said about a finished request (the hit ratio works whatever the cache's metrics are). */
  noteRequest(r: FinishedRequest): void {
    this.finished++;
    if (r.cache === undefined) return;
    const now = this.src.clock.now();
    let c = this.cache.get(r.cache);
    if (c === undefined) this.cache.set(r.cache, (c = new WindowCounter(WINDOW_MS, now)));
    c.add(now);
  }

  /** Calls `fn` with every new frame until the returned function is called. */
  subscribe(fn: (f: StatsFrame) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get history(): readonly StatsPoint[] {
    return this.points;
  }

  /** The latest frame, or a fresh one when none was taken since the last beat (a quiet beat builds none). */
  async latest(): Promise<StatsFrame> {
    return this.latestFrame !== undefined && this.frameBeat === this.beats ? this.latestFrame : await this.sample();
  }

  /**
   * One beat of the sampler's clock (the interval timer calls it): a full sample (its frame is returned), or a quiet
   * one (sample-kind.ts; returns nothing: no promise is made on an idle gateway's beat).
   */
  beat(): Promise<StatsFrame> | undefined {
    this.beats++;
    if (this.running !== undefined) return this.running; // a slow registry read is not stacked
    const { balancer, queue } = this.src.live();
    const depth = queue.depthByPriority();
    const kind = sampleKind({
      viewers: this.listeners.size,
      inFlight: this.src.requestsInFlight(),
      queued: depth.high + depth.normal + depth.low,
      finished: this.finished !== this.finishedAtBeat,
      last: this.points.at(-1),
    });
    this.finishedAtBeat = this.finished;
    if (kind === 'full') return this.sample();
    this.quiet(balancer.snapshot());
    return undefined;
  }

  /** Takes one sample now (one at a time: a slow registry read is not stacked). */
  sample(): Promise<StatsFrame> {
    this.running ??= this.take().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * A quiet beat: nothing request-driven moved since the last reading (sample-kind.ts), so that reading holds now too
   * and every rate over the window is zero; the forecast sees no arrivals. No registry read, no frame.
   */
  private quiet(upstreams: UpstreamSnapshot[]): void {
    const now = this.src.clock.now();
    const last = this.readings.at(-1);
    if (last !== undefined) this.remember(now, last.families);
    const f = this.forecastAt(now, this.lastArrivals?.count ?? 0, upstreams);
    this.keep({
      t: Date.now(),
      rps: 0,
      admitted: 0,
      ok: 0,
      shed: 0,
      failed: 0,
      retried: 0,
      p50: null,
      p95: null,
      p99: null,
      ttft50: null,
      ttft95: null,
      queued: 0,
      inFlight: 0,
      tokensPerMin: 0,
      demand: f.demandRps,
      forecast: f.forecastRps,
      capacity: f.capacityRps,
    });
  }

  /** Adds a reading; returns the one rates are taken from (the oldest still at least a window old, once one is). */
  private remember(now: number, families: MetricFamily[]): { at: number; families: MetricFamily[] } | undefined {
    this.readings.push({ at: now, families });
    while (this.readings.length > 2 && now - (this.readings[1]?.at ?? now) >= WINDOW_MS) this.readings.shift();
    return this.readings.length > 1 ? this.readings[0] : undefined;
  }

  private keep(point: StatsPoint): void {
    this.points.push(point);
    if (this.points.length > HISTORY) this.points.shift();
  }

  /**
   * Feeds the demand forecast with the arrivals since the last beat (finished + in flight, cumulative, so a storm
   * shows up while its requests are still waiting) and sets its gauges.
   */
  private forecastAt(now: number, arrivals: number, upstreams: readonly UpstreamSnapshot[]): StatsFrame['forecast'] {
    const { metrics } = this.src;
    if (this.lastArrivals !== undefined && now > this.lastArrivals.at) {
      this.demand.observe(Math.max(0, arrivals - this.lastArrivals.count) / ((now - this.lastArrivals.at) / 1000), now);
    }
    this.lastArrivals = { at: now, count: arrivals };
    const capacity = capacityRps(
      upstreams.map((u) => ({ cap: u.cap, available: !u.drained && u.health !== 'ejected', serviceMs: u.serviceMs })),
    );
    const demandNow = this.demand.level ?? null;
    const ahead = this.demand.forecast(FORECAST_HORIZON_S) ?? null;
    const utilization = ahead !== null && capacity !== undefined && capacity > 0 ? ahead / capacity : null;
    if (demandNow !== null) metrics.demandRps.set(demandNow);
    if (ahead !== null) metrics.demandForecastRps.set({ horizon_seconds: String(FORECAST_HORIZON_S) }, ahead);
    if (capacity !== undefined) metrics.capacityRps.set(capacity);
    if (utilization !== null) metrics.forecastUtilization.set(utilization);
    return {
      horizonS: FORECAST_HORIZON_S,
      demandRps: demandNow,
      trendPerS: this.demand.trend,
      forecastRps: ahead,
      capacityRps: capacity ?? null,
      utilization,
    };
  }

  private async take(): Promise<StatsFrame> {
    const { clock, metrics } = this.src;
    const now = clock.now();
    const families = await readRegistry(metrics.registry, (name) => OWN_FAMILY.test(name));
    const base = this.remember(now, families);
    const dtS = Math.max(0.001, (now - (base?.at ?? now)) / 1000);
    const views = viewFamilies(base?.families ?? [], families, base === undefined ? 0 : dtS);

    const { balancer, queue } = this.src.live();
    const inFlight = this.src.requestsInFlight();
    const finished =
      families.find((f) => f.name === 'spillway_requests_total')?.values.reduce((s, v) => s + v.value, 0) ?? 0;
    const upstreams = balancer.snapshot();
    const forecast = this.forecastAt(now, finished + inFlight, upstreams);

    const codes = ratesBy(views, 'spillway_requests_total', 'code');
    const failures: Record<string, number> = {};
    let shed = 0;
    let failed = 0;
    for (const [code, r] of Object.entries(codes)) {
      if (code === 'ok') continue;
      if (SHED_CODES.has(code)) shed += r;
      else if (code !== 'client_closed') failed += r;
      failures[code] = r;
    }
    const latency = histogram(views, 'spillway_request_duration_seconds');
    const ttft = histogram(views, 'spillway_ttft_seconds');
    const depth = queue.depthByPriority();
    const rps = sumRate(views, 'spillway_requests_total');
    const point: StatsPoint = {
      t: Date.now(),
      rps,
      admitted: Math.max(0, rps - shed),
      ok: codes.ok ?? 0,
      shed,
      failed,
      retried: sumRate(views, 'spillway_retries_total'),
      p50: latency?.p50 ?? null,
      p95: latency?.p95 ?? null,
      p99: latency?.p99 ?? null,
      ttft50: ttft?.p50 ?? null,
      ttft95: ttft?.p95 ?? null,
      queued: depth.high + depth.normal + depth.low,
      inFlight,
      tokensPerMin: 60 * sumRate(views, 'spillway_tokens_total', (l) => l.kind === 'prompt' || l.kind === 'completion'),
      demand: forecast.demandRps,
      forecast: forecast.forecastRps,
      capacity: forecast.capacityRps,
    };
    this.keep(point);

    const attempts = new Map<string, Record<string, number>>();
    const av = views.find((v) => v.name === 'spillway_upstream_attempts_total');
    if (av?.type === 'counter') {
      for (const s of av.series) {
        const u = s.labels.upstream ?? '';
        const rec = attempts.get(u) ?? {};
        if (s.perSecond > 0) rec[s.labels.outcome ?? ''] = s.perSecond;
        attempts.set(u, rec);
      }
    }
    const wait = views.find((v) => v.name === 'spillway_queue_wait_seconds');
    const waitP95S: Record<string, number | null> = {};
    if (wait?.type === 'histogram') for (const s of wait.series) waitP95S[s.labels.priority ?? ''] = s.p95;
    const hits = (this.cache.get('hit')?.total(now) ?? 0) + (this.cache.get('coalesced')?.total(now) ?? 0);
    let looked = 0;
    for (const c of this.cache.values()) looked += c.total(now);

    const frame: StatsFrame = {
      at: new Date().toISOString(),
      windowS: Math.round(dtS * 10) / 10,
      config: this.src.info(),
      point,
      upstreams: upstreams.map((u) => ({ ...u, attempts: attempts.get(u.name) ?? {} })),
      queue: { depth, waitP95S },
      shedReasons: ratesBy(views, 'spillway_shed_total', 'reason'),
      failures,
      retries: ratesBy(views, 'spillway_retries_total', 'outcome'),
      cacheHitRatio: looked > 0 ? hits / looked : null,
      promptCacheHitRatio: promptCacheHitRatio(views),
      forecast,
      families: views,
      recent: this.src.requestLog.recent({ limit: 25 }),
    };
    this.latestFrame = frame;
    this.frameBeat = this.beats;
    for (const fn of this.listeners) fn(frame);
    return frame;
  }
}

/** Prompt-cache hit tokens over hit + miss tokens, from spillway_tokens_total since start (null before any). */
function promptCacheHitRatio(views: readonly FamilyView[]): number | null {
  const f = views.find((v) => v.name === 'spillway_tokens_total');
  if (f?.type !== 'counter') return null;
  let hit = 0;
  let miss = 0;
  for (const x of f.series) {
    if (x.labels.kind === 'prompt_cache_hit') hit += x.total;
    else if (x.labels.kind === 'prompt_cache_miss') miss += x.total;
  }
  return hit + miss > 0 ? hit / (hit + miss) : null;
}

function histogram(views: readonly FamilyView[], name: string): Quantiles | undefined {
  const f = views.find((v) => v.name === name);
  return f?.type === 'histogram' && f.all.perSecond > 0 ? f.all : undefined;
}
