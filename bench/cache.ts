/**
 * `npm run bench:cache` — what a cache hit costs next to the least a Node proxy can do, measured in the same run:
 *
 *   core 1: this process (load generator) + upstream         core 0: pass-through | spillway with the cache
 *
 * The pass-through (bench/minimal-proxy.ts, the baseline of bench:overhead) forwards every request to the fast
 * fixed-answer upstream; Spillway caches the model and, after one warm-up request, answers every request from its
 * memory level (a JSON hit as stored, a stream hit replayed as SSE chunks) without any upstream call. The claim to
 * check: a hit is faster than any proxying. Targets are measured in short slices, round-robin, so machine drift
 * hits both alike; each ratio is reported as mean ± standard deviation over the runs.
 *
 * Flags: --runs N (3), --duration S per target, run and mode (3), --connections N (32), --quick (1 run of 2 s),
 * --no-write (leave docs/benchmarks.md alone). Bounded by a watchdog.
 */
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { cannon, type Slice } from './cannon.ts';
import { hasTaskset, pinSelf, startTrio, type Child } from './children.ts';
import { positive, runBench } from './run-bench.ts';
import { waitForQuiet } from './machine-load.ts';
import { mean, stdev } from './stats.ts';
import { benchArgs } from './args.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';

const argv = process.argv.slice(2);
const flags = benchArgs(import.meta.url, {
  runs: { type: 'string' },
  duration: { type: 'string' },
  connections: { type: 'string' },
  quick: { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
});
const runs = Math.round(positive('runs', flags.runs, flags.quick ? 1 : 3));
const durationS = positive('duration', flags.duration, flags.quick ? 2 : 3);
const connections = Math.round(positive('connections', flags.connections, 32));
const SLICE_S = 1;
const slices = Math.max(1, Math.round(durationS / SLICE_S));
const WARMUP_S = 1;
/** Each slice waits (at most this long) for the machine to be quieter than QUIET_PERCENT of one core. */
const QUIET_WAIT_MS = 5000;
const QUIET_PERCENT = 15;

const MODES = ['json', 'stream'] as const;
type Mode = (typeof MODES)[number];
const TARGETS = ['pass-through', 'spillway hit'] as const;
type Target = (typeof TARGETS)[number];
const PATH = '/v1/chat/completions';
const ASK = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
const BODIES: Record<Mode, string> = { json: JSON.stringify(ASK), stream: JSON.stringify({ ...ASK, stream: true }) };
const HERE = import.meta.dirname;
const DOC = join(HERE, '..', 'docs', 'benchmarks.md');

const expectedS =
  MODES.length *
    (TARGETS.length * WARMUP_S + runs * TARGETS.length * (slices * SLICE_S + (QUIET_WAIT_MS / 1000) * slices)) +
  20;
const taskset = availableParallelism() >= 2 && hasTaskset();
const core = (n: number): number | null => (taskset ? n : null);
if (taskset && !pinSelf(1)) throw new Error('taskset exists but could not pin the load generator to core 1');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function cannonAt(origin: string, mode: Mode, seconds: number): Promise<Slice> {
  return cannon(origin + PATH, BODIES[mode], connections, seconds);
}

/** One request that must succeed; for Spillway it also stores the answer every later request hits. */
async function check(origin: string, mode: Mode, name: string): Promise<string | null> {
  const res = await request(origin + PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODIES[mode],
  });
  const text = await res.body.text();
  const ok =
    res.statusCode === 200 && (mode === 'json' ? text.includes('"chat.completion"') : text.includes('data: [DONE]'));
  if (!ok) throw new Error(`${name} answered a ${mode} call with ${res.statusCode}: ${text.slice(0, 300)}`);
  const label = res.headers['x-spillway-cache'];
  return typeof label === 'string' ? label : null;
}

interface Row {
  rps: number[];
  p50: number[];
  p99: number[];
  bad: number;
}

async function main(): Promise<void> {
  log(
    `bench:cache: ${runs} run(s) × ${durationS} s per target and mode, ${connections} connections, pinning: ${taskset ? 'on' : 'off'}`,
  );
  const { upstream, passthrough, gateway } = await startTrio({ upstream: core(1), front: core(0) }, ['--cache', 'on']);
  const servers: Record<Target, Child> = { 'pass-through': passthrough, 'spillway hit': gateway };
  for (const mode of MODES) {
    await check(passthrough.origin, mode, 'pass-through');
    await check(gateway.origin, mode, 'spillway');
    const label = await check(gateway.origin, mode, 'spillway');
    if (label !== 'hit')
      throw new Error(`spillway did not answer a repeated ${mode} request from its cache (x-spillway-cache: ${label})`);
  }
  const rows = {} as Record<Mode, Record<Target, Row>>;
  const ratios = {} as Record<Mode, number[]>;
  for (const mode of MODES) {
    rows[mode] = {
      'pass-through': { rps: [], p50: [], p99: [], bad: 0 },
      'spillway hit': { rps: [], p50: [], p99: [], bad: 0 },
    };
    ratios[mode] = [];
    for (const t of TARGETS) await cannonAt(servers[t].origin, mode, WARMUP_S);
    for (let run = 0; run < runs; run++) {
      const got: Record<Target, Slice[]> = { 'pass-through': [], 'spillway hit': [] };
      for (let k = 0; k < slices; k++) {
        for (const t of (run + k) % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
          await waitForQuiet(QUIET_PERCENT, QUIET_WAIT_MS);
          got[t].push(await cannonAt(servers[t].origin, mode, SLICE_S));
        }
      }
      const rps = {} as Record<Target, number>;
      for (const t of TARGETS) {
        const xs = got[t];
        rps[t] = xs.reduce((a, x) => a + x.requests, 0) / xs.reduce((a, x) => a + x.seconds, 0);
        rows[mode][t].rps.push(rps[t]);
        rows[mode][t].p50.push(mean(xs.map((x) => x.p50)));
        rows[mode][t].p99.push(mean(xs.map((x) => x.p99)));
        rows[mode][t].bad += xs.reduce((a, x) => a + x.bad, 0);
      }
      ratios[mode].push(rps['spillway hit'] / rps['pass-through']);
      log(
        `  run ${run + 1} ${mode.padEnd(6)} pass-through ${Math.round(rps['pass-through'])} req/s, spillway hit ${Math.round(rps['spillway hit'])} req/s`,
      );
    }
  }
  await Promise.all([passthrough.stop(), gateway.stop(), upstream.stop()]);

  const pm = (xs: number[], digits = 0): string => `${mean(xs).toFixed(digits)} ± ${stdev(xs).toFixed(digits)}`;
  const lines = [
    '## Cache hits vs the minimal pass-through',
    '',
    `Command: \`npm run bench:cache${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.`,
    `Settings: ${runs} run(s) × ${durationS} s per target and mode in ${SLICE_S} s slices, ${connections} connections, one request body repeated (\`temperature: 0\`).`,
    `Pinning: ${taskset ? 'pass-through and Spillway `taskset -c 0` (one loaded at a time); upstream and load generator `taskset -c 1`' : 'none: every process shares every core'}.`,
    'The pass-through forwards every request to the upstream; every Spillway request is a memory (L1) hit (checked before the run), so no Spillway request reaches the upstream.',
    'Values are mean ± standard deviation over the runs; other agents shared this machine, so the spread is part of the result.',
    '',
    '| mode | pass-through req/s | Spillway hit req/s | hit ÷ pass-through | pass-through p50 / p99 ms | hit p50 / p99 ms | errors |',
    '|---|---|---|---|---|---|---|',
    ...MODES.map((m) => {
      const p = rows[m]['pass-through'];
      const h = rows[m]['spillway hit'];
      return `| ${m} | ${pm(p.rps)} | ${pm(h.rps)} | **${pm(ratios[m], 2)}** | ${mean(p.p50).toFixed(1)} / ${mean(p.p99).toFixed(1)} | ${mean(h.p50).toFixed(1)} / ${mean(h.p99).toFixed(1)} | ${p.bad + h.bad} |`;
    }),
    '',
    "A stream hit replays the stored answer as one write of a few SSE chunks; the pass-through relays the upstream's 20-chunk stream.",
  ];
  const md = lines.join('\n');
  console.log(md);
  if (!flags['no-write']) {
    writeDocSection(DOC, 'cache', md);
    log(`wrote ${DOC}`);
  }
}

await runBench('bench:cache', 2 * expectedS, main);
