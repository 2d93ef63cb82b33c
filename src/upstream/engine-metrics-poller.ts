import type { Config } from '../config/types.ts';
import type { Balancer } from '../balance/balancer.ts';
import { parseEngineMetrics } from '../balance/engine-load.ts';
import type { Logger } from '../observe/log.ts';

/**
 * Reads each self-hosted engine's /metrics (vLLM, SGLang) every `interval` and hands its queue depth and KV-cache
 * use to the balancer. A scrape that fails clears the engine's load (the balancer falls back to its own counts) and
 * is logged once until it works again. Only started for upstreams with `engine_metrics`.
 */
export class EngineMetricsPoller {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(config: Config, balancer: Balancer, log: Logger) {
    for (const u of config.upstreams) {
      const m = u.engineMetrics;
      if (m === null) continue;
      let failing = false;
      const scrape = async () => {
        try {
          // Loaded when an engine is polled (undici-dispatchers.ts says why not at startup).
          const { request } = await import('undici');
          const res = await request(m.url, { headersTimeout: m.intervalMs, bodyTimeout: m.intervalMs });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
          balancer.setEngineLoad(u.name, parseEngineMetrics(text));
          if (failing) log.info({ upstream: u.name }, 'engine metrics readable again');
          failing = false;
        } catch (err) {
          balancer.setEngineLoad(u.name, undefined);
          if (!failing)
            log.warn(
              { upstream: u.name, url: m.url, err: (err as Error).message },
              'cannot read engine metrics; balancing on own counts',
            );
          failing = true;
        }
      };
      void scrape();
      const t = setInterval(() => void scrape(), m.intervalMs);
      t.unref();
      this.timers.push(t);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}
