import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config, UpstreamConfig } from '../../../src/config/types.ts';
import { Balancer, type Lease } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import type { UpstreamKind } from '../../../src/upstream/upstream-kind.ts';

const SLOTS = 16;
const PREFILL_MS = 250;
const RUN_MS = 550;

interface Setup {
  /** What the gateway knows the upstream runs (set in config, or probed). */
  kind: UpstreamKind;
  /** Whether the attempts are streams, or whole answers (whose first token is their end). */
  streamed?: boolean;
  /** A whole answer's usage tells its tokens. */
  usage?: boolean;
  /** The engine's /metrics are read (a load reported, its queue empty). */
  metricsRead?: boolean;
}

/**
 * A vLLM-like engine of 16 slots, no max_concurrency in the config, that queues what it cannot run first come first
 * served: a calm spell, then a request every 20 ms (1.7× what it runs) for 4 s, sent while the balancer grants one.
 * Returns the upstream's cap at the end.
 */
function overloadSilentEngine(s: Setup): number {
  const config: Config = resolveConfig(
    {
      upstreams: [{ name: 'engine', url: 'http://engine.invalid/v1', kind: s.kind }],
      models: { chat: { routes: [{ upstream: 'engine' }] } },
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const b = new Balancer(config, {
    clock,
    metrics: new Metrics(),
    log: createLogger('silent'),
    kindOf: (u: UpstreamConfig) => u.kind,
  });
  if (s.metricsRead === true) b.setEngineLoad('engine', { waiting: 0, running: 4, kvUsage: 0.2 });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  const slotFree: number[] = Array.from({ length: SLOTS }, () => 0);
  const ends: { at: number; lease: Lease; firstTokenMs: number }[] = [];
  const send = (at: number): void => {
    let lease: Lease;
    try {
      lease = b.acquire(model);
    } catch {
      return; // at its limit: the admission queue's to hold
    }
    slotFree.sort((x, y) => x - y);
    const start = Math.max(at, slotFree[0] as number);
    slotFree[0] = start + RUN_MS;
    ends.push({ at: start + RUN_MS, lease, firstTokenMs: start - at + PREFILL_MS });
  };
  const settleUntil = (t: number): void => {
    ends.sort((x, y) => x.at - y.at);
    while (ends.length > 0 && (ends[0]?.at as number) <= t) {
      const e = ends.shift() as (typeof ends)[number];
      clock.set(e.at);
      const streamed = s.streamed ?? true;
      e.lease.release(
        { kind: 'ok' },
        {
          firstTokenMs: e.firstTokenMs,
          streamed,
          answerTokens: !streamed && s.usage !== false ? 25 : undefined,
        },
      );
    }
    clock.set(t);
  };
  for (let at = 0; at < 3000; at += 100) {
    settleUntil(at);
    send(at);
  }
  for (let at = 3000; at < 7000; at += 20) {
    settleUntil(at);
    send(at);
  }
  settleUntil(Infinity);
  return b.snapshot()[0]?.cap ?? NaN;
}

test('answers that waited in a silent vLLM, SGLang or Ollama engine bring its learned limit down to what it runs', () => {
  for (const kind of ['vllm', 'sglang', 'ollama'] as const)
    for (const streamed of [true, false]) {
      const cap = overloadSilentEngine({ kind, streamed });
      const what = `${kind}, ${streamed ? 'streams' : 'whole answers'}: cap ${cap}, the engine runs ${SLOTS}`;
      assert.ok(cap >= SLOTS && cap <= SLOTS + 1, what);
    }
});

test('answer times do not move the limit of a hosted API, of answers of unknown length, or of an engine whose metrics are read', () => {
  const rows: [string, Setup][] = [
    ['a hosted API (its first token is its own business)', { kind: 'openai' }],
    ['whole answers whose usage does not tell their length', { kind: 'vllm', streamed: false, usage: false }],
    ['an engine whose queue its /metrics tell', { kind: 'vllm', metricsRead: true }],
  ];
  for (const [what, setup] of rows) assert.equal(overloadSilentEngine(setup), 256, what);
});
