/**
 * Interference benchmark: `npm run bench:interference [-- --runs N --duration S --no-write]`.
 *
 * The same seeded interactive load (open loop, a steady share of the fleet's capacity) runs against a fresh mock
 * fleet and gateway twice per round: once alone, once while a large batch waits in the job store. It reports the
 * interactive success rate, p50 and p99 of each, and how many batch items ran meanwhile — the batch may only use
 * what the interactive traffic leaves. Rounds alternate the two runs, and the table gives the median with the
 * range over rounds (the noise). The simulator's time to first token grows with its load (ttftPerInFlightMs), as
 * a real engine's does with its batch size, so the background work is not free for it. Nothing here is asserted:
 * speed is measured, never tested.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnSpillway, type Child } from '../src/storm/processes.ts';
import { planArrivals } from '../src/storm/arrivals.ts';
import { LoadRun } from '../src/storm/load-run.ts';
import { percentile } from '../src/percentile.ts';
import { summarize, type Summary } from '../src/storm/summary.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { benchArgs } from './args.ts';

const values = benchArgs(import.meta.url, {
  runs: { type: 'string', default: '5' },
  duration: { type: 'string', default: '10' },
  'no-write': { type: 'boolean', default: false },
});
const ROUNDS = Number(values.runs);
const DURATION_S = Number(values.duration);
const SLOTS = 16;
const MOCK = { ttftMs: 80, tokenMs: 8, ttftPerInFlightMs: 2, slots: SLOTS, queueSize: 0, seed: 1 };
const MAX_TOKENS: [number, number] = [8, 24];
const SERVICE_MS = MOCK.ttftMs + 16 * MOCK.tokenMs; // at the mean answer length, before load
const CAPACITY_RPS = (SLOTS * 1000) / SERVICE_MS;
const INTERACTIVE_SHARE = 0.4;
const BATCH_ITEMS = 3000;
// SPARE, HEADROOM and LAG (environment) try other jobs settings than the defaults; the table says which were used.
const SPARE = Number(process.env.SPARE ?? 70);
const LAG = process.env.LAG ?? '20ms';
const HEADROOM = process.env.HEADROOM ?? '10s';

interface RunResult {
  summary: Summary;
  batchDone: number;
}

async function runOnce(withBatch: boolean, seed: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-interference-'));
  const children: Child[] = [];
  try {
    // The simulator, the gateway and the load generator each in their own process, as the storm bench does: an
    // upstream is another machine, and one event loop must not slow another's.
    const mock = await spawnSpillway(
      [
        'mock',
        '--port',
        '0',
        '--ttft-ms',
        String(MOCK.ttftMs),
        '--token-ms',
        String(MOCK.tokenMs),
        '--ttft-per-inflight-ms',
        String(MOCK.ttftPerInFlightMs),
        '--slots',
        String(SLOTS),
        '--seed',
        String(MOCK.seed),
      ],
      /listening on http/,
      1,
      { stream: 'stdout' },
    );
    children.push(mock);
    const mockUrl = /listening on (http:\/\/\S+)/.exec(mock.lines[0] ?? '')?.[1] ?? '';
    const configFile = join(dir, 'spillway.yaml');
    writeFileSync(
      configFile,
      stringify({
        log: { level: 'error', requests: false },
        upstreams: [{ name: 'mock', url: `${mockUrl}/v1`, max_concurrency: SLOTS }],
        models: { chat: { routes: [{ upstream: 'mock', model: 'chat' }] } },
        jobs: {
          enabled: true,
          data_dir: dir,
          poll_interval: '50ms',
          spare_percent: SPARE,
          headroom_window: HEADROOM,
          max_event_loop_lag: LAG,
        },
      }),
    );
    const gw = await spawnSpillway(['start', '--config', configFile, '--port', '0'], /listening on http/, 1, {
      stream: 'stderr',
    });
    children.push(gw);
    const url = /listening on (http:\/\/\S+)/.exec(gw.lines[0] ?? '')?.[1] ?? '';
    let batchId: string | undefined;
    if (withBatch) {
      const lines = Array.from({ length: BATCH_ITEMS }, (_, i) =>
        JSON.stringify({
          custom_id: `b${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'chat', messages: [{ role: 'user', content: `batch item ${i}` }], max_tokens: 16 },
        }),
      );
      const form = new FormData();
      form.set('purpose', 'batch');
      form.set('file', new Blob([lines.join('\n')]), 'batch.jsonl');
      const file = (await (await fetch(`${url}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
      const b = (await (
        await fetch(`${url}/v1/batches`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
        })
      ).json()) as { id: string };
      batchId = b.id;
      // Let the runner reach its steady share before the interactive load starts.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const before = batchId === undefined ? 0 : await completed(url, batchId);
    const arrivals = planArrivals({
      seed,
      curve: [[0, CAPACITY_RPS * INTERACTIVE_SHARE]],
      durationS: DURATION_S,
      mix: { stream: 0, maxTokens: MAX_TOKENS, priorities: { normal: 1 }, deadlineS: 30 },
    });
    const run = new LoadRun(arrivals, () => ({ baseUrl: `${url}/v1` }), { deadlineS: 30, answerSeed: MOCK.seed });
    await run.done;
    const batchDone = batchId === undefined ? 0 : (await completed(url, batchId)) - before;
    return { summary: summarize(withBatch ? 'with batch' : 'alone', run.records, 0, 0), batchDone };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function completed(url: string, id: string): Promise<number> {
  const b = (await (await fetch(`${url}/v1/batches/${id}`)).json()) as { request_counts: { completed: number } };
  return b.request_counts.completed;
}

const alone: RunResult[] = [];
const withBatch: RunResult[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so a drift in machine load does not favour one side.
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const b of order) {
    process.stderr.write(
      `round ${round + 1}/${ROUNDS}: interactive ${b ? 'with a batch' : 'alone'} for ${DURATION_S} s ...\n`,
    );
    (b ? withBatch : alone).push(await runOnce(b, 1000 + round));
  }
}

const med = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const cell = (xs: number[], digits = 0) =>
  `${med(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const col = (rs: RunResult[], f: (r: RunResult) => number, d = 0) => cell(rs.map(f), d);
const p99Ratio = med(withBatch.map((r) => r.summary.latencyP99Ms)) / med(alone.map((r) => r.summary.latencyP99Ms));
const table = [
  '| interactive traffic | success % | p50 ms | p99 ms | batch items done during the run |',
  '|---|---|---|---|---|',
  `| alone | ${col(alone, (r) => r.summary.successPct, 1)} | ${col(alone, (r) => r.summary.latencyP50Ms)} | ${col(alone, (r) => r.summary.latencyP99Ms)} | — |`,
  `| with a ${BATCH_ITEMS}-item batch queued | ${col(withBatch, (r) => r.summary.successPct, 1)} | ${col(withBatch, (r) => r.summary.latencyP50Ms)} | ${col(withBatch, (r) => r.summary.latencyP99Ms)} | ${col(withBatch, (r) => r.batchDone)} |`,
].join('\n');
const interactiveRps = alone[0]?.summary.requests === undefined ? 0 : alone[0].summary.requests / DURATION_S;
const text = [
  '### Interference: interactive traffic with and without a batch',
  '',
  `Command: \`npm run bench:interference -- --runs ${ROUNDS} --duration ${DURATION_S}\` — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.`,
  `One simulated upstream with ${SLOTS} slots (time to first token ${MOCK.ttftMs} ms + ${MOCK.ttftPerInFlightMs} ms per other request in flight, ${MOCK.tokenMs} ms per token), \`max_concurrency: ${SLOTS}\`, jobs with \`spare_percent: ${SPARE}\`, \`headroom_window: ${HEADROOM}\`, \`max_event_loop_lag: ${LAG}\` (the defaults: 70, 10s, 20ms).`,
  `Interactive load: open loop, ${interactiveRps.toFixed(0)} req/s (${(INTERACTIVE_SHARE * 100).toFixed(0)}% of the fleet's nominal ${CAPACITY_RPS.toFixed(0)} req/s), non-stream, ${MAX_TOKENS[0]}–${MAX_TOKENS[1]} tokens, ${DURATION_S} s per run.`,
  `Each cell: median of ${ROUNDS} rounds (min–max over rounds). Interactive p99 with the batch / alone: **${p99Ratio.toFixed(2)}×**.`,
  '',
  table,
].join('\n');
process.stdout.write(`\n${text}\n`);
if (!values['no-write']) writeDocSection('docs/benchmarks.md', 'interference', text);
