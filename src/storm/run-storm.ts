import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { MockStats } from '../mock/stats.ts';
import { planArrivals, type Arrival } from './arrivals.ts';
import type { StormTarget } from './client.ts';
import { LoadRun } from './load-run.ts';
import { spawnSpillway, type Child } from './processes.ts';
import { gatewayConfigFor, type Scenario } from './scenario.ts';
import { summarize, type RequestRecord, type Summary } from './summary.ts';

export type TargetKind = 'direct' | 'spillway' | { url: string };

/**
 * One storm against one target, from a fresh fleet: `direct` sends each request straight to a fleet upstream (a
 * client without a gateway, spreading over the upstreams it knows, with no retries), `spillway` starts a gateway in
 * front of the fleet, and a URL sends to a gateway that is already running (a chaos drill: that gateway must be
 * configured with the fleet's upstreams, whose ports the scenario then fixes).
 */
export interface StormOptions {
  onProgress?: (run: LoadRun) => void;
  onRecords?: (records: readonly RequestRecord[]) => void;
  /**
   * `spillway` only: this many gateway instances sharing `redisUrl` (rate limits, account caps, rests), the
   * requests spread over them round robin as a load balancer would.
   */
  instances?: number;
  redisUrl?: string;
  /** `spillway` or a URL only: send through the Anthropic Messages door instead of chat completions. */
  door?: 'messages';
}

export async function runStorm(s: Scenario, target: TargetKind, opts: StormOptions = {}): Promise<Summary> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-storm-'));
  const children: Child[] = [];
  try {
    const fleetFile = join(dir, 'fleet.yaml');
    writeFileSync(fleetFile, s.fleetYaml);
    const fleet = await spawnSpillway(['mock', '--fleet', fleetFile], / listening on http/, s.fleet.upstreams.length, {
      stream: 'stdout',
    });
    children.push(fleet);
    const urls = Object.fromEntries(
      fleet.lines.map((l) => {
        const [name, , , url] = l.trim().split(' ');
        return [name as string, url as string];
      }),
    );
    const picked = await targetPicker(s, target, urls, dir, children, opts);
    const door = target === 'direct' ? undefined : opts.door;
    const pickTarget = door === undefined ? picked : (a: Arrival) => ({ ...picked(a), door });
    const arrivals = planArrivals({ seed: s.seed, curve: s.curve, durationS: s.durationS, mix: s.mix });
    const run = new LoadRun(arrivals, pickTarget, { deadlineS: s.mix.deadlineS, answerSeed: 1, client: s.client });
    const progress = opts.onProgress === undefined ? undefined : setInterval(() => opts.onProgress?.(run), 1000);
    await run.done;
    clearInterval(progress);
    const stats = await fleetStats(urls);
    const received = stats.reduce((n, st) => n + st.received, 0);
    const wasted = stats.reduce((n, st) => n + st.completedAfterClientGone, 0);
    const label = `${typeof target === 'string' ? target : target.url}${door === undefined ? '' : ` (${door})`}`;
    opts.onRecords?.(run.records);
    const caps = new Map(
      ((s.gateway.upstreams ?? []) as { name?: unknown; max_concurrency?: unknown }[]).map((u) => [
        String(u.name),
        typeof u.max_concurrency === 'number' ? u.max_concurrency : undefined,
      ]),
    );
    const peaks = Object.keys(urls).map((upstream, i) => ({
      upstream,
      peak: stats[i]?.peakInFlight ?? 0,
      cap: caps.get(upstream),
    }));
    return { ...summarize(label, run.records, received, wasted), peaks };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function targetPicker(
  s: Scenario,
  target: TargetKind,
  urls: Record<string, string>,
  dir: string,
  children: Child[],
  opts: StormOptions,
): Promise<(a: Arrival) => StormTarget> {
  if (target === 'direct') {
    const direct = s.fleet.upstreams.map((u) => ({
      baseUrl: `${urls[u.name] ?? ''}/v1`,
      ...(u.apiKeys?.[0] === undefined ? {} : { apiKey: u.apiKeys[0] }),
    }));
    return (a) => direct[Math.min(direct.length - 1, Math.floor(a.pick * direct.length))] as StormTarget;
  }
  if (target === 'spillway') {
    const configFile = join(dir, 'spillway.yaml');
    const n = opts.instances ?? 1;
    if (n > 1 && opts.redisUrl === undefined)
      throw new Error('several gateway instances need a Redis to share their state');
    const state = n > 1 ? { state: { redis: { url: opts.redisUrl } } } : {};
    writeFileSync(configFile, stringify({ log: { level: 'warn' }, ...gatewayConfigFor(s, urls), ...state }));
    const bases: string[] = [];
    for (let i = 0; i < n; i++) {
      const gw = await spawnSpillway(['start', '--config', configFile, '--port', '0'], /listening on http/, 1, {
        stream: 'stderr',
      });
      children.push(gw);
      bases.push(`${/listening on (http:\/\/\S+)/.exec(gw.lines[0] ?? '')?.[1] ?? ''}/v1`);
    }
    let next = 0;
    return () => ({ baseUrl: bases[next++ % bases.length] as string });
  }
  return () => ({ baseUrl: target.url.replace(/\/+$/, '') });
}

/** Each upstream's stats; an upstream down in a 'refuse' outage answers nothing, and received nothing either. */
async function fleetStats(
  urls: Record<string, string>,
): Promise<Pick<MockStats, 'received' | 'completedAfterClientGone' | 'peakInFlight'>[]> {
  return Promise.all(
    Object.values(urls).map(async (u) => {
      try {
        return (await (await fetch(`${u}/mock/stats`)).json()) as MockStats;
      } catch {
        return { received: 0, completedAfterClientGone: 0, peakInFlight: 0 };
      }
    }),
  );
}
