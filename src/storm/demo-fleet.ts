import type { FleetSpec } from '../mock/fleet.ts';
import { resolveOptions, type MockOptions } from '../mock/options.ts';
import { loadedTtftMs, promptPrefillMs } from '../mock/pacing.ts';
import type { Mix, RateCurve } from './arrivals.ts';

/**
 * What `spillway demo` simulates: a small fleet that is busy AND flaky, the traffic sent at it, and the Spillway
 * config in front of it. Kept small (16 slots, short answers) so the whole demo — two fleets, a gateway and two
 * load generators — fits in one process on a 2-core laptop.
 */
export const DEMO_MIX: Mix = {
  stream: 0.6,
  maxTokens: [8, 24],
  priorities: { high: 0.2, normal: 0.5, low: 0.3 },
  deadlineS: 15,
};

/** The outage of upstream "c": from 40% of the run, for 20% of it (at most 8 s). */
export function demoOutage(durationS: number): { startMs: number; endMs: number } {
  const startMs = Math.round(durationS * 400);
  return { startMs, endMs: startMs + Math.max(1, Math.round(Math.min(8000, durationS * 200))) };
}

/** The burst: from 65% of the run, for 10% of it (at least 1 s, at most 5 s). */
export function demoBurst(durationS: number): { startS: number; endS: number } {
  const startS = durationS * 0.65;
  return { startS, endS: startS + Math.min(5, Math.max(1, durationS * 0.1)) };
}

/**
 * Three upstreams, each a different way of being overloaded: "a" queues a little then answers 503 (DeepSeek's
 * "server busy"), "b" answers 429 at once with Retry-After (an account's concurrency cap), "c" is small, slow and
 * goes down (connections refused) for a while. All of them have seeded faults, resets in the middle of streams
 * among them. Same seed, same answers: the client checks every answer against the simulator's text. "a" is a
 * DeepSeek and "c" a vLLM server (each names itself in /v1/models and continues a cut answer its own way).
 */
export function demoFleet(seed: number, durationS: number): FleetSpec {
  const common: MockOptions = { seed, jitterPct: 15, continueAfterAbort: true, queueTimeoutMs: 4000 };
  const outage = demoOutage(durationS);
  return {
    upstreams: [
      {
        ...common,
        name: 'a',
        kind: 'deepseek',
        slots: 6,
        queueSize: 6,
        reject: 503,
        ttftMs: 250,
        ttftPerInFlightMs: 10,
        tokenMs: 10,
        faults: { error500: 0.02, resetMidStream: 0.03 },
      },
      {
        ...common,
        name: 'b',
        slots: 6,
        queueSize: 0,
        reject: 429,
        retryAfterS: 1,
        ttftMs: 200,
        tokenMs: 10,
        faults: { resetBeforeHeaders: 0.01, resetMidStream: 0.03, stall: 0.01 },
      },
      {
        ...common,
        name: 'c',
        kind: 'vllm',
        slots: 4,
        queueSize: 4,
        reject: 503,
        ttftMs: 300,
        tokenMs: 12,
        faults: { error500: 0.03, resetMidStream: 0.04, slowTokens: 0.02, slowTokenMs: 100 },
        outages: [{ ...outage, mode: 'refuse' }],
      },
    ],
  };
}

/**
 * Requests per second the fleet can answer with every slot busy: Σ slots / (TTFT at full load + mean tokens ×
 * token_ms), where TTFT at full load adds `ttft_per_in_flight_ms` for each of the other slots' requests (queues add
 * waiting, not throughput; faults are left out). Storm rates in `x_capacity` multiply this, so it must be what the
 * fleet really serves: leaving out the load-dependent TTFT overstated a fleet with it by 12%, and a "1.0×" phase
 * was an overload.
 */
export function fleetCapacityRps(fleet: FleetSpec, meanTokens: number, meanPromptTokens = 0): number {
  return fleet.upstreams.reduce((sum, u) => {
    const o = resolveOptions(u);
    if (!Number.isFinite(o.slots)) return sum;
    const fullLoadTtftMs =
      loadedTtftMs(o.ttftMs, o.ttftPerInFlightMs, o.slots - 1) +
      promptPrefillMs(o.ttftPer1kPromptTokensMs, meanPromptTokens);
    return sum + o.slots / ((fullLoadTtftMs + meanTokens * o.tokenMs) / 1000 || 0.001);
  }, 0);
}

/** `rateX` × capacity all along, doubled during the burst. */
export function demoCurve(capacityRps: number, rateX: number, durationS: number): RateCurve {
  const base = capacityRps * rateX;
  const { startS, endS } = demoBurst(durationS);
  return [
    [0, base],
    [startS, base],
    [startS, 2 * base],
    [endS, 2 * base],
    [endS, base],
  ];
}

/**
 * Spillway in front of the fleet as a user would configure it: the upstreams with the caps their owner knows and one
 * model's routes — nothing else. Timeouts, hedging, continuation and the queue are the defaults: the first minute a
 * user spends with us shows what ships.
 */
export function demoGatewayConfig(fleet: FleetSpec, urls: Record<string, string>): Record<string, unknown> {
  return {
    log: { level: 'warn', requests: false },
    upstreams: fleet.upstreams.map((u) => ({
      name: u.name,
      url: `${urls[u.name] ?? ''}/v1`,
      max_concurrency: u.slots,
    })),
    models: { chat: { routes: fleet.upstreams.map((u) => ({ upstream: u.name })) } },
  };
}
