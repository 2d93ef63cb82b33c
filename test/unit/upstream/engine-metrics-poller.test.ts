import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config, UpstreamConfig } from '../../../src/config/types.ts';
import type { EngineLoad } from '../../../src/balance/engine-load.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { EngineMetricsPoller } from '../../../src/upstream/engine-metrics-poller.ts';
import type { UpstreamKind } from '../../../src/upstream/upstream-kind.ts';
import { LogCapture } from '../../helpers/stack.ts';

const VLLM_METRICS = 'vllm:num_requests_running{model_name="m"} 16\nvllm:num_requests_waiting{model_name="m"} 7\n';

/** A /metrics endpoint: `body` (undefined: 404, as an engine started without metrics) and the reads it had. */
async function metricsServer(t: TestContext, body: string | undefined): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function configOf(url: string, engineMetrics?: unknown): Config {
  return resolveConfig(
    {
      upstreams: [
        { name: 'e', url: `${url}/v1`, ...(engineMetrics === undefined ? {} : { engine_metrics: engineMetrics }) },
      ],
      models: { m: { routes: [{ upstream: 'e' }] } },
    },
    'test.yaml',
  );
}

/** A poller whose ticks the test runs itself, on a fake clock, against a balancer that records what it is told. */
function pollerOf(t: TestContext, config: Config, kind: UpstreamKind) {
  const clock = new FakeClock(1_000);
  const logs = new LogCapture();
  const state = { inUse: false, kind, loads: [] as (EngineLoad | undefined)[] };
  let task: (() => Promise<void>) | undefined;
  const poller = new EngineMetricsPoller(config, {
    balancer: {
      inUseSince: () => state.inUse,
      setEngineLoad: (_name: string, load: EngineLoad | undefined) => void state.loads.push(load),
    },
    clock,
    log: createLogger('info', logs.stream),
    kindOf: (_u: UpstreamConfig) => state.kind,
    every: (_ms, run) => {
      task = run;
      return () => (task = undefined);
    },
  });
  t.after(() => poller.stop());
  const tick = async () => {
    clock.advance(2_000);
    await task?.();
  };
  return { state, tick, logs, clock };
}

test('engine_metrics is auto by default; off and null read nothing; a url or interval is always read', () => {
  const url = 'http://127.0.0.1:8000';
  assert.deepEqual(configOf(url).upstreams[0]?.engineMetrics, { url: `${url}/metrics`, intervalMs: 2_000, auto: true });
  assert.equal(configOf(url, 'off').upstreams[0]?.engineMetrics, null);
  assert.equal(configOf(url, null).upstreams[0]?.engineMetrics, null);
  assert.deepEqual(configOf(url, { interval: '1s' }).upstreams[0]?.engineMetrics, {
    url: `${url}/metrics`,
    intervalMs: 1_000,
    auto: false,
  });
  assert.throws(() => configOf(url, 'on'), /engine_metrics.*expected auto, off, null or \{ url, interval \}/s);
});

test('on defaults, a vLLM engine is read only while requests go to it, and an idle one keeps no stale load', async (t) => {
  const metrics = await metricsServer(t, VLLM_METRICS);
  const { state, tick } = pollerOf(t, configOf(metrics.url), 'vllm');
  await tick();
  await tick();
  assert.equal(metrics.hits(), 0, 'idle: not read');
  state.inUse = true;
  await tick();
  await tick();
  assert.equal(metrics.hits(), 2);
  assert.deepEqual(state.loads, [
    { waiting: 7, running: 16, kvUsage: 0 },
    { waiting: 7, running: 16, kvUsage: 0 },
  ]);
  state.inUse = false;
  await tick();
  await tick();
  assert.equal(metrics.hits(), 2, 'idle again: not read');
  assert.deepEqual(state.loads.slice(2), [undefined], 'the last load is cleared once, not kept');
});

test('on defaults, only upstreams of kind vllm or sglang are read, including a kind a probe learns later', async (t) => {
  const metrics = await metricsServer(t, VLLM_METRICS);
  const { state, tick } = pollerOf(t, configOf(metrics.url), 'openai');
  state.inUse = true;
  await tick();
  for (const kind of ['ollama', 'deepseek'] as const) {
    state.kind = kind;
    await tick();
  }
  assert.equal(metrics.hits(), 0);
  state.kind = 'sglang';
  await tick();
  assert.equal(metrics.hits(), 1);
});

test('on defaults, an engine serving no metrics is left alone after three failed reads, said once at info, tried again later', async (t) => {
  const metrics = await metricsServer(t, undefined);
  const { state, tick, logs, clock } = pollerOf(t, configOf(metrics.url), 'vllm');
  state.inUse = true;
  for (let i = 0; i < 8; i++) await tick();
  assert.equal(metrics.hits(), 3);
  const said = logs.records().filter((r) => /serves no metrics/.test(String(r.msg)));
  assert.equal(said.length, 1);
  assert.equal(said[0]?.level, 30, 'info: the user asked for nothing');
  assert.deepEqual(state.loads, [], 'nothing was ever shown, so nothing to clear');
  clock.advance(10 * 60_000);
  await tick();
  assert.equal(metrics.hits(), 4, 'tried again ten minutes later');
});

test('a configured engine_metrics is read while idle and on any kind, and a failure is warned once until it works', async (t) => {
  const metrics = await metricsServer(t, undefined);
  const { tick, logs } = pollerOf(t, configOf('http://127.0.0.1:9', { url: `${metrics.url}/metrics` }), 'openai');
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(metrics.hits(), 5, 'read on every tick');
  const warned = logs.records().filter((r) => /cannot read engine metrics/.test(String(r.msg)));
  assert.equal(warned.length, 1);
  assert.equal(warned[0]?.level, 40);
});

test('a page without vLLM or SGLang queue gauges is a failed read, not an empty queue', async (t) => {
  const metrics = await metricsServer(t, '{"choices":[]}');
  const { state, tick } = pollerOf(t, configOf(metrics.url), 'vllm');
  state.inUse = true;
  for (let i = 0; i < 4; i++) await tick();
  assert.equal(metrics.hits(), 3, 'given up like a 404');
  assert.deepEqual(state.loads, []);
});

test('a metrics page past 8 MiB is a failed read, dropped there, not held in memory whole', async (t) => {
  const metrics = await metricsServer(t, `${'# padding\n'.repeat(900_000)}${VLLM_METRICS}`);
  const { state, tick } = pollerOf(t, configOf(metrics.url), 'vllm');
  state.inUse = true;
  for (let i = 0; i < 3; i++) await tick();
  assert.equal(metrics.hits(), 3, 'given up like a 404');
  assert.deepEqual(state.loads, [], 'its gauges at the end were never read');
});
