import type { Clock } from '../clock.ts';
import type { Config, UpstreamConfig } from '../config/types.ts';
import type { Balancer } from '../balance/balancer.ts';
import { parseEngineMetrics, type EngineLoad } from '../balance/engine-load.ts';
import type { Logger } from '../observe/log.ts';
import type { UpstreamKind } from './upstream-kind.ts';
import type { Dispatcher } from 'undici';

/** The kinds whose engines serve their queue on /metrics (vLLM by default; SGLang with `--enable-metrics`). */
const ENGINE_KINDS: ReadonlySet<UpstreamKind> = new Set(['vllm', 'sglang']);
/** The largest metrics page read: a vLLM's is tens to hundreds of KiB; anything past this is not one to parse. */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;
/** Failed reads in a row after which `auto` takes it that the engine serves no metrics there. */
const AUTO_FAILURES = 3;
/** How long `auto` then leaves it alone: it may be restarted with metrics on, or the kind was a guess. */
const AUTO_REST_MS = 10 * 60_000;

interface Engine {
  upstream: UpstreamConfig;
  url: string;
  /** `url` split once for the dispatcher: every read goes to the same place. */
  origin: string;
  path: string;
  intervalMs: number;
  auto: boolean;
  /** Reads that failed in a row. */
  failures: number;
  /** `auto` reads nothing until then (clock ms). */
  restUntil: number;
  /** The previous tick (clock ms): an `auto` engine is read when it was in use since. */
  lastTick: number;
  /** A read is under way: a slow engine does not get a second one stacked on it. */
  reading: boolean;
  /** Its load was handed to the balancer and not cleared since. */
  shown: boolean;
}

/**
 * Reads self-hosted engines' /metrics (vLLM, SGLang) every `interval` and hands their queue depth and KV-cache use
 * to the balancer. An engine's own queue is the one thing that tells such an engine is full: it never refuses, it
 * queues silently (balancer.ts `setEngineLoad`).
 *
 * `engine_metrics: auto` (the default) reads an upstream only while its kind is vllm or sglang and requests go to
 * it: an idle engine is not polled, and a load read before a pause is not kept (it would be stale). Three failed
 * reads in a row (SGLang without `--enable-metrics`, a proxy in front, an engine that is not one) leave it alone for
 * ten minutes, logged once at info: the user asked for nothing. A configured `{ url, interval }` is always read,
 * and a failure is logged once as a warning until it works again. A failed read clears the engine's load (the
 * balancer falls back to its own counts).
 */
export class EngineMetricsPoller {
  private readonly stops: (() => void)[] = [];
  private agent: Promise<Dispatcher> | undefined;
  private readonly clock: Clock;
  private readonly balancer: Pick<Balancer, 'inUseSince' | 'setEngineLoad'>;
  private readonly log: Logger;
  private readonly kindOf: (u: UpstreamConfig) => UpstreamKind;

  /** `every` runs a task every `ms` (first at once if told) until the returned stop is called (tests drive the ticks). */
  constructor(
    config: Config,
    deps: {
      balancer: Pick<Balancer, 'inUseSince' | 'setEngineLoad'>;
      clock: Clock;
      log: Logger;
      kindOf: (u: UpstreamConfig) => UpstreamKind;
      every?: (ms: number, task: () => Promise<void>, atOnce: boolean) => () => void;
    },
  ) {
    this.clock = deps.clock;
    this.balancer = deps.balancer;
    this.log = deps.log;
    this.kindOf = deps.kindOf;
    for (const u of config.upstreams) {
      const m = u.engineMetrics;
      if (m === null) continue;
      const url = new URL(m.url);
      const e: Engine = {
        upstream: u,
        ...m,
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        failures: 0,
        restUntil: -Infinity,
        lastTick: this.clock.now(),
        reading: false,
        shown: false,
      };
      // A configured engine is read at once; `auto` waits for requests to go there.
      this.stops.push((deps.every ?? everyMs)(m.intervalMs, () => this.tick(e), !m.auto));
    }
  }

  stop(): void {
    for (const stop of this.stops) stop();
    void this.agent?.then((a) => a.close());
  }

  /**
   * The reads' own connections, with a bound on a page's size (an oversized one fails the read, not the process).
   * Loaded when an engine is first read (undici-dispatchers.ts says why not at startup).
   */
  private dispatcher(): Promise<Dispatcher> {
    this.agent ??= import('undici').then(({ Agent }) => new Agent({ maxResponseSize: MAX_PAGE_BYTES, connections: 1 }));
    return this.agent;
  }

  private async tick(e: Engine): Promise<void> {
    const now = this.clock.now();
    const since = e.lastTick;
    e.lastTick = now;
    if (e.reading) return;
    if (e.auto && !(ENGINE_KINDS.has(this.kindOf(e.upstream)) && now >= e.restUntil)) return;
    if (e.auto && !this.balancer.inUseSince(e.upstream.name, since)) {
      this.show(e, undefined);
      return;
    }
    await this.read(e);
  }

  private async read(e: Engine): Promise<void> {
    e.reading = true;
    try {
      const agent = await this.dispatcher();
      const res = await agent.request({
        origin: e.origin,
        path: e.path,
        method: 'GET',
        headersTimeout: e.intervalMs,
        bodyTimeout: e.intervalMs,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`status ${res.statusCode}`);
      }
      const text = await res.body.text();
      const load = parseEngineMetrics(text);
      if (load === undefined) throw new Error('no vLLM or SGLang queue gauges in it');
      this.show(e, load);
      if (e.failures > 0 && !e.auto) this.log.info({ upstream: e.upstream.name }, 'engine metrics readable again');
      e.failures = 0;
    } catch (err) {
      this.failed(e, (err as Error).message);
    } finally {
      e.reading = false;
    }
  }

  private failed(e: Engine, why: string): void {
    this.show(e, undefined);
    e.failures++;
    const at = { upstream: e.upstream.name, url: e.url, err: why };
    if (!e.auto) {
      if (e.failures === 1) this.log.warn(at, 'cannot read engine metrics; balancing on own counts');
      return;
    }
    if (e.failures < AUTO_FAILURES) return;
    e.failures = 0;
    e.restUntil = this.clock.now() + AUTO_REST_MS;
    this.log.info(
      at,
      'engine serves no metrics there: balancing on own counts, tried again in 10 minutes (set upstreams[].engine_metrics to its url, or off)',
    );
  }

  private show(e: Engine, load: EngineLoad | undefined): void {
    if (load === undefined && !e.shown) return;
    this.balancer.setEngineLoad(e.upstream.name, load);
    e.shown = load !== undefined;
  }
}

function everyMs(ms: number, task: () => Promise<void>, atOnce: boolean): () => void {
  if (atOnce) void task();
  const t = setInterval(() => void task(), ms);
  t.unref();
  return () => clearInterval(t);
}
