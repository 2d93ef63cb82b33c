/**
 * `npm run bench:soak -- --minutes N` — does anything build up over time? A real `spillway start` process (default
 * settings plus an upstream, two models, the cache on one and jobs on) runs mixed load against a mock with faults:
 * interactive and streaming chat, cached chat from a small prompt set, embeddings, and a batch every minute; its
 * config is rewritten and reloaded every minute. Every `--sample` seconds the gateway's RSS, heap in use, open
 * descriptors (/proc/PID/fd), event-loop lag p99 and the clients' success rate are sampled.
 *
 * The verdict is on flatness, not level: a least-squares slope per metric after the warm-up (the first fifth),
 * through one value per sixth of the window (see verdicts()), and the growth it predicts over the window must stay
 * within a tolerance per metric. The baseline is the same process at the start of the window.
 *
 * Flags: --minutes N (30), --rate N requests/s (30), --sample S (10), --no-write (leave docs/benchmarks.md alone).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { positive, runBench } from './run-bench.ts';
import { benchArgs } from './args.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { startGatewayProcess, type GatewayProcess } from '../test/helpers/gateway-process.ts';

const flags = benchArgs(import.meta.url, {
  minutes: { type: 'string' },
  rate: { type: 'string' },
  sample: { type: 'string' },
  'no-write': { type: 'boolean', default: false },
});
const minutes = positive('minutes', flags.minutes, 30);
const rate = positive('rate', flags.rate, 30);
const sampleS = positive('sample', flags.sample, 10);
const MAX_IN_FLIGHT = 300;
const DEADLINE_MS = 20_000;

interface Sample {
  atS: number;
  rssMiB: number;
  heapMiB: number;
  fds: number;
  lagMs: number;
  successPct: number;
  requests: number;
}

/** Requests by outcome since the last sample (reset at each). */
const window = { ok: 0, failed: 0 };
const totals = { ok: 0, failed: 0, skipped: 0, batches: 0, batchesDone: 0, reloads: 0, reloadsFailed: 0 };
const failures = new Map<string, number>();

function configFor(mockUrl: string, dir: string, maxWait: string): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    upstreams: [{ name: 'mock0', url: `${mockUrl}/v1`, max_concurrency: 64 }],
    models: {
      chat: { routes: [{ upstream: 'mock0', model: 'chat' }] },
      cached: { routes: [{ upstream: 'mock0', model: 'chat' }] },
      embed: { routes: [{ upstream: 'mock0', model: 'embed' }] },
    },
    cache: { models: ['cached'] },
    queue: { max_wait: maxWait },
    jobs: { enabled: true, data_dir: join(dir, 'jobs') },
    log: { level: 'warn' },
  };
}

function note(ok: boolean, why: string): void {
  if (ok) {
    window.ok++;
    totals.ok++;
  } else {
    window.failed++;
    totals.failed++;
    failures.set(why, (failures.get(why) ?? 0) + 1);
  }
}

let inFlight = 0;

async function one(url: string, draw: number, n: number): Promise<void> {
  const headers = { 'content-type': 'application/json', 'x-spillway-deadline-ms': String(DEADLINE_MS) };
  let path = '/v1/chat/completions';
  let body: Record<string, unknown>;
  if (draw < 0.45) body = { model: 'chat', messages: [{ role: 'user', content: `interactive ${n}` }], max_tokens: 16 };
  else if (draw < 0.75)
    body = { model: 'chat', messages: [{ role: 'user', content: `stream ${n}` }], max_tokens: 32, stream: true };
  else if (draw < 0.95)
    body = {
      model: 'cached',
      messages: [{ role: 'user', content: `cached ${n % 50}` }],
      max_tokens: 16,
      temperature: 0,
    };
  else {
    path = '/v1/embeddings';
    body = { model: 'embed', input: `embed ${n}` };
  }
  inFlight++;
  try {
    const r = await fetch(`${url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(DEADLINE_MS + 5_000),
    });
    const text = await r.text();
    // A stream that failed after its first byte ends with an in-band error event instead of [DONE].
    const ok = r.ok && (body.stream !== true || text.includes('data: [DONE]'));
    note(ok, ok ? '' : `${r.status}${body.stream === true && r.ok ? ' stream error' : ''}`);
  } catch (err) {
    note(false, (err as Error).name);
  } finally {
    inFlight--;
  }
}

async function batch(url: string, n: number): Promise<void> {
  const lines = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({
      custom_id: `b${n}-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'chat', messages: [{ role: 'user', content: `batch ${n} ${i}` }], max_tokens: 8 },
    }),
  );
  try {
    const form = new FormData();
    form.set('purpose', 'batch');
    form.set('file', new Blob([`${lines.join('\n')}\n`]), 'in.jsonl');
    const f = (await (await fetch(`${url}/v1/files`, { method: 'POST', body: form })).json()) as { id?: string };
    const b = await fetch(`${url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    totals.batches++;
    if (!b.ok) failures.set(`batch ${b.status}`, (failures.get(`batch ${b.status}`) ?? 0) + 1);
  } catch (err) {
    failures.set(`batch ${(err as Error).name}`, (failures.get(`batch ${(err as Error).name}`) ?? 0) + 1);
  }
}

async function batchesDone(url: string): Promise<number> {
  const r = (await (await fetch(`${url}/v1/batches?limit=100`)).json()) as { data?: { status: string }[] };
  return (r.data ?? []).filter((b) => b.status === 'completed').length;
}

async function reload(g: GatewayProcess, mockUrl: string, n: number): Promise<void> {
  writeFileSync(g.configFile, stringify(configFor(mockUrl, g.dir, n % 2 === 0 ? '30s' : '29s')));
  const r = await fetch(`${g.url}/admin/reload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await r.arrayBuffer();
  if (r.ok) totals.reloads++;
  else totals.reloadsFailed++;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

async function sample(g: GatewayProcess, startedMs: number): Promise<Sample> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  const total = window.ok + window.failed;
  const s: Sample = {
    atS: (performance.now() - startedMs) / 1000,
    rssMiB: g.rssBytes() / 1048576,
    heapMiB: metric(text, 'spillway_nodejs_heap_size_used_bytes') / 1048576,
    fds: g.openFds(),
    lagMs: metric(text, 'spillway_nodejs_eventloop_lag_p99_seconds') * 1000,
    successPct: total === 0 ? 100 : (100 * window.ok) / total,
    requests: total,
  };
  window.ok = 0;
  window.failed = 0;
  return s;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

interface Verdict {
  name: string;
  unit: string;
  per: 'peak' | 'trough' | 'median';
  /** Slope through every sample, per 10 minutes (reported, not judged). */
  perTenMinAll: number;
  first: number;
  last: number;
  min: number;
  max: number;
  perTenMin: number;
  growth: number;
  tolerance: number;
  pass: boolean;
}

/** Six equal parts of the measured window: the verdict fits a line through one value per part, not every sample. */
const SEGMENTS = 6;

/**
 * Each metric's growth over the window against its tolerance; success may not fall. V8 grows and shrinks its heap
 * in a sawtooth of tens of MiB, and a line through every sample of a sawtooth slopes by wherever the window happens
 * to end. So the window is cut into SEGMENTS parts and the line is fitted through one value per part: RSS's peak
 * (a leak raises the peaks; a sawtooth does not; the troughs rise whenever V8 simply keeps pages it freed), the
 * heap's trough (what is left after a collection: the live data, which a leak grows), and the median of the
 * others (a neighbour's CPU burst is one outlier, not a trend). The slope through every sample is reported beside it.
 */
function verdicts(samples: Sample[]): Verdict[] {
  const measured = samples.slice(Math.floor(samples.length / 5));
  const xs = measured.map((s) => s.atS);
  const span = (xs[xs.length - 1] ?? 0) - (xs[0] ?? 0);
  const rows: [
    string,
    string,
    (s: Sample) => number,
    (mean: number) => number,
    1 | -1,
    'peak' | 'trough' | 'median',
  ][] = [
    ['RSS', 'MiB', (s) => s.rssMiB, (m) => Math.max(16, 0.1 * m), 1, 'peak'],
    ['heap used', 'MiB', (s) => s.heapMiB, (m) => Math.max(8, 0.15 * m), 1, 'trough'],
    ['open fds', '', (s) => s.fds, () => 8, 1, 'median'],
    ['event-loop lag p99', 'ms', (s) => s.lagMs, () => 10, 1, 'median'],
    ['success', '%', (s) => s.successPct, () => 2, -1, 'median'],
  ];
  return rows.map(([name, unit, get, tol, bad, per]) => {
    const ys = measured.map(get);
    const parts = segments(xs, ys, per);
    const k = slope(
      parts.map((p) => p[0]),
      parts.map((p) => p[1]),
    );
    const mean = ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length);
    const growth = k * span;
    const tolerance = tol(mean);
    return {
      name,
      unit,
      per,
      first: ys[0] ?? NaN,
      last: ys[ys.length - 1] ?? NaN,
      min: Math.min(...ys),
      max: Math.max(...ys),
      perTenMinAll: slope(xs, ys) * 600,
      perTenMin: k * 600,
      growth,
      tolerance,
      pass: growth * bad <= tolerance,
    };
  });
}

/** (mid-time, peak or median) of each of SEGMENTS equal parts of the samples. */
function segments(xs: number[], ys: number[], per: 'peak' | 'trough' | 'median'): [number, number][] {
  const out: [number, number][] = [];
  const size = Math.max(1, Math.floor(xs.length / SEGMENTS));
  for (let at = 0; at + size <= xs.length; at += size) {
    const part = ys.slice(at, at + size).sort((a, b) => a - b);
    const value = (
      per === 'peak' ? part[part.length - 1] : per === 'trough' ? part[0] : part[Math.floor(part.length / 2)]
    ) as number;
    out.push([((xs[at] as number) + (xs[at + size - 1] as number)) / 2, value]);
  }
  return out;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

await runBench('bench:soak', minutes * 60 + 300, async () => {
  let mockUrl = '';
  const g = await startGatewayProcess({
    mock: {
      ttftMs: 20,
      tokenMs: 2,
      slots: 512,
      faults: {
        error500: 0.02,
        resetBeforeHeaders: 0.01,
        resetMidStream: 0.01,
        stall: 0.002,
        slowTokens: 0.02,
        slowTokenMs: 50,
      },
    },
    config: (url, dir) => {
      mockUrl = url;
      return configFor(url, dir, '30s');
    },
  });
  try {
    console.log(`bench:soak: ${minutes} min at ${rate} req/s, sampling every ${sampleS} s, gateway pid ${g.pid}`);
    const started = performance.now();
    const endAt = started + minutes * 60_000;
    const samples: Sample[] = [];
    let n = 0;
    const pending = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
    const loadTimer = setInterval(() => {
      // Paced arrivals (an open loop: the clients do not slow down when the gateway does), with a cap on what waits.
      for (let i = 0; i < rate / 10; i++) {
        if (inFlight >= MAX_IN_FLIGHT) {
          totals.skipped++;
          continue;
        }
        track(one(g.url, Math.random(), n++));
      }
    }, 100);
    let minute = 0;
    const minuteTimer = setInterval(() => {
      minute++;
      track(batch(g.url, minute));
      track(reload(g, mockUrl, minute).catch(() => void totals.reloadsFailed++));
    }, 60_000);
    while (performance.now() < endAt && g.alive()) {
      await new Promise((r) => setTimeout(r, sampleS * 1000));
      const s = await sample(g, started);
      samples.push(s);
      console.log(
        `  ${(s.atS / 60).toFixed(1)} min: RSS ${f1(s.rssMiB)} MiB, heap ${f1(s.heapMiB)} MiB, fds ${s.fds}, lag p99 ${f1(s.lagMs)} ms, success ${f1(s.successPct)}% of ${s.requests}`,
      );
    }
    clearInterval(loadTimer);
    clearInterval(minuteTimer);
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, DEADLINE_MS + 10_000))]);
    totals.batchesDone = await batchesDone(g.url).catch(() => -1);
    const alive = g.alive();
    const v = verdicts(samples);
    const ok = alive && samples.length >= 5 && v.every((x) => x.pass) && g.errorLines.length === 0;
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const topFailures = [...failures]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, c]) => `${k || 'other'}: ${c}`)
      .join(', ');
    const body = [
      '## Soak — `npm run bench:soak`',
      '',
      `Command: \`npm run bench:soak -- --minutes ${minutes}\` — ${when} UTC, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}; other agents shared the machine.`,
      `Load: ${rate} req/s paced (45% chat, 30% streaming chat, 20% cached chat over 50 prompts, 5% embeddings; ${DEADLINE_MS / 1000} s deadlines), a 20-item batch and a config reload (rewritten file, \`POST /admin/reload\`) every minute.`,
      'Mock faults: 2% 500, 1% reset before headers, 1% reset mid-stream, 0.2% stalled, 2% slow tokens.',
      `Sampled every ${sampleS} s (${samples.length} samples); the verdict fits a line after the first fifth (warm-up) through one value per sixth of the window, because the heap grows and shrinks in a sawtooth: RSS's peak, the heap's trough (the live data after a collection), the median of the rest. Pass: each metric's fitted growth over the window within its tolerance, the process up, no internal error logged — **${ok ? 'PASS' : 'FAIL'}**.`,
      '',
      '| metric | first | last | min | max | slope per 10 min, all samples | slope per 10 min, judged (per part) | fitted growth | tolerance | flat |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...v.map(
        (x) =>
          `| ${x.name}${x.unit === '' ? '' : ` (${x.unit})`} | ${f1(x.first)} | ${f1(x.last)} | ${f1(x.min)} | ${f1(x.max)} | ${f1(x.perTenMinAll)} | ${f1(x.perTenMin)} (${x.per}) | ${f1(x.growth)} | ${x.name === 'success' ? `fall ≤ ${f1(x.tolerance)}` : `≤ ${f1(x.tolerance)}`} | ${x.pass ? 'yes' : '**no**'} |`,
      ),
      '',
      `Requests: ${totals.ok} ok, ${totals.failed} failed (${f1((100 * totals.ok) / Math.max(1, totals.ok + totals.failed))}% success; ${topFailures || 'none'}), ${totals.skipped} not sent (over ${MAX_IN_FLIGHT} in flight). Batches: ${totals.batches} created, ${totals.batchesDone} completed by the end. Reloads: ${totals.reloads} ok, ${totals.reloadsFailed} failed. Internal errors logged: ${g.errorLines.length}.`,
    ].join('\n');
    console.log(`\n${body}\n`);
    if (g.errorLines.length > 0) console.log(g.errorLines.slice(0, 3).join('\n'));
    if (!ok) process.exitCode = 1;
    if (flags['no-write'] !== true)
      writeDocSection(join(import.meta.dirname, '..', 'docs', 'benchmarks.md'), 'soak', body);
  } finally {
    await g.close();
  }
});
