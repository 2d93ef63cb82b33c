/**
 * Open-loop load at a fixed rate, for latency at a given load. Not autocannon: its `overallRate` lets every
 * connection send back-to-back until its per-second quota is used and then idle, so "half rate" is really full
 * load for half of each second, and it records whole milliseconds. Here requests leave on a schedule of
 * `rate` per second (checked every millisecond, so at most a few leave together), independent of answers, and
 * each latency is timed from send to the last body byte with performance.now().
 */
import { Pool } from 'undici';
import { percentile } from '../src/percentile.ts';

export interface PacedResult {
  /** Answers per second completed inside the measured window (below `rate` when the target cannot keep up). */
  achievedRate: number;
  failed: number;
  /** Latency of every measured answer, ms, ascending. */
  latencies: number[];
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(sorted: readonly number[]): LatencySummary {
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** Sends at `rate` for `warmupMs + durationMs`; only requests sent after the warm-up are measured. */
export async function pacedLoad(opts: {
  origin: string;
  path: string;
  body: string;
  rate: number;
  warmupMs: number;
  durationMs: number;
  connections?: number;
}): Promise<PacedResult> {
  const pool = new Pool(opts.origin, {
    connections: opts.connections ?? 128,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const latencies: number[] = [];
  let failed = 0;
  let completedInWindow = 0;
  const inflight = new Set<Promise<void>>();
  const headers = { 'content-type': 'application/json' };
  const totalMs = opts.warmupMs + opts.durationMs;
  let t0 = 0;

  const fire = (measured: boolean): void => {
    const start = performance.now();
    const p = pool
      .request({ method: 'POST', path: opts.path, headers, body: opts.body })
      .then(async (res) => {
        await res.body.arrayBuffer();
        const end = performance.now();
        if (res.statusCode !== 200) failed++;
        else if (measured) latencies.push(end - start);
        if (res.statusCode === 200 && end - t0 >= opts.warmupMs && end - t0 <= totalMs) completedInWindow++;
      })
      .catch(() => {
        failed++;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };

  let sent = 0;
  t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - t0;
      const due = Math.floor((Math.min(elapsed, totalMs) / 1000) * opts.rate);
      while (sent < due) {
        // Measured if its scheduled send time falls after the warm-up.
        fire((sent / opts.rate) * 1000 >= opts.warmupMs);
        sent++;
      }
      if (elapsed >= totalMs) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  await pool.destroy();
  latencies.sort((a, b) => a - b);
  return { achievedRate: completedInWindow / (opts.durationMs / 1000), failed, latencies };
}
