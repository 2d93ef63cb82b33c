/**
 * `npm run bench:streams -- --streams 8000` — many concurrent slow streams through one gateway process on one core:
 * does every stream complete, and what does each one cost (memory, CPU, event-loop lag)?
 *
 *   core 0: the gateway (default pipeline; the upstream's account cap stated as --streams)
 *   core 1: this process (the clients) + the mock upstream (a token every --token-ms, --tokens per answer)
 *
 * Per level (1,000 by default, then --streams), a fresh gateway: idle stats, then the streams are opened at
 * --ramp per second and held to their end; the gateway's RSS, heap and CPU are sampled every second and its
 * event-loop delay is measured from the first stream opened to the last one finished. A share of the streams
 * (--queued-share, 10%) finds the mock's slots full and waits in its queue on `: keep-alive` comments (DeepSeek's
 * way of holding a busy request) until a slot frees; they finish one answer later.
 *
 * A stream is complete when it answered 200 with --tokens content events, then `data: [DONE]`, and no error event.
 * Each stream holds two sockets in the gateway (client side, upstream side): the bench refuses a level the
 * process's descriptor limit (`ulimit -n`) cannot hold.
 *
 * Flags: --streams N (8000), --levels a,b (1000,<streams>), --token-ms MS (500), --tokens N (20), --ramp N/s (2000),
 * --queued-share F (0.1), --gateway-flags "…" (node flags for the gateway), --timeline (print the gateway's stats
 * every second), --no-write (leave docs/benchmarks.md alone).
 */
import { execFileSync } from 'node:child_process';
import { request, Agent } from 'node:http';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { hasTaskset, pinSelf, startChild, type Child } from './children.ts';
import type { ChildStats } from './servers/child-protocol.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { positive, runBench } from './run-bench.ts';
import { benchArgs, usageError } from './args.ts';

const argv = process.argv.slice(2);
const flags = benchArgs(import.meta.url, {
  streams: { type: 'string' },
  levels: { type: 'string' },
  'token-ms': { type: 'string' },
  tokens: { type: 'string' },
  ramp: { type: 'string' },
  'queued-share': { type: 'string' },
  'gateway-flags': { type: 'string' },
  timeline: { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
});
const streams = Math.round(positive('streams', flags.streams, 8000));
const levels = (flags.levels ?? `1000,${streams}`).split(',').map((s) => Math.round(positive('levels', s, 1)));
const tokenMs = positive('token-ms', flags['token-ms'], 500);
const tokens = Math.round(positive('tokens', flags.tokens, 20));
const rampPerS = positive('ramp', flags.ramp, 2000);
const queuedShare = Number(flags['queued-share'] ?? '0.1');
const gatewayFlags =
  flags['gateway-flags'] === undefined ? [] : flags['gateway-flags'].split(' ').filter((f) => f !== '');
if (!(queuedShare >= 0 && queuedShare < 1)) usageError(import.meta.url, '--queued-share must be in [0, 1)');

const HERE = import.meta.dirname;
const DOC = join(HERE, '..', 'docs', 'benchmarks.md');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const MB = 1024 * 1024;

const taskset = availableParallelism() >= 2 && hasTaskset();
const core = (n: number): number | null => (taskset ? n : null);
if (taskset && !pinSelf(1)) throw new Error('taskset exists but could not pin the clients to core 1');

function fdLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}

interface StreamResult {
  ok: boolean;
  /** Why it is not complete (status, missing [DONE], error event, socket error). */
  problem?: string;
  ms: number;
}

/** One streaming request, read to its end: counts content events, checks [DONE] and that no error event came. */
function oneStream(agent: Agent, port: number, body: string): Promise<StreamResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (problem?: string): void =>
      resolve(
        problem === undefined
          ? { ok: true, ms: performance.now() - t0 }
          : { ok: false, problem, ms: performance.now() - t0 },
      );
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/chat/completions',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', () => done(`status ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let pending = '';
        let content = 0;
        let sawDone = false;
        let error = false;
        res.on('data', (chunk: string) => {
          pending += chunk;
          let end: number;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const ev = pending.slice(0, end);
            pending = pending.slice(end + 2);
            if (!ev.startsWith('data:')) continue;
            if (ev === 'data: [DONE]') sawDone = true;
            else if (ev.includes('"error"')) error = true;
            else if (ev.includes('"content":"') && !ev.includes('"content":""')) content++;
          }
        });
        res.on('end', () =>
          done(
            error
              ? 'error event'
              : !sawDone
                ? 'no [DONE]'
                : content !== tokens
                  ? `${content} of ${tokens} content events`
                  : undefined,
          ),
        );
        res.on('error', (e) => done(`response ${e.message}`));
      },
    );
    req.on('error', (e) => done(`request ${e.message}`));
    req.end(body);
  });
}

interface LevelResult {
  streams: number;
  complete: number;
  problems: Record<string, number>;
  wallS: number;
  p50S: number;
  maxS: number;
  idleRss: number;
  peakRss: number;
  peakHeap: number;
  cpuS: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function level(n: number, mock: Child): Promise<LevelResult> {
  const gateway = await startChild(
    `spillway (${n} streams)`,
    join(HERE, 'servers', 'gateway.ts'),
    ['--upstream', `${mock.origin}/v1`, '--max-concurrency', String(n)],
    { core: core(0), nodeFlags: gatewayFlags },
  );
  try {
    await sleep(500);
    const idle = await gateway.stats();
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const body = JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      max_tokens: tokens,
    });
    let peakRss = idle.rss;
    let peakHeap = idle.heapUsed;
    let sampling = true;
    gateway.resetLag();
    const t0 = performance.now();
    const sampler = (async () => {
      while (sampling) {
        await sleep(1000);
        const s = await gateway.stats();
        if (flags.timeline)
          log(
            `    t=${((performance.now() - t0) / 1000).toFixed(1)}s rss ${(s.rss / MB).toFixed(0)} MB heap ${(s.heapUsed / MB).toFixed(0)} MB cpu ${((s.cpuUs - idle.cpuUs) / 1e6).toFixed(1)} s lag p99 ${s.lagP99Ms.toFixed(0)} max ${s.lagMaxMs.toFixed(0)} ms`,
          );
        peakRss = Math.max(peakRss, s.rss);
        peakHeap = Math.max(peakHeap, s.heapUsed);
      }
    })();
    const running: Promise<StreamResult>[] = [];
    // Opened at `rampPerS`, in 10 ms steps: thousands of connects at once would overflow the listen backlog.
    for (let opened = 0; opened < n;) {
      const due = Math.min(n, Math.ceil(((performance.now() - t0) / 1000) * rampPerS) + 1);
      for (; opened < due; opened++) running.push(oneStream(agent, gateway.port, body));
      if (opened < n) await sleep(10);
    }
    const results = await Promise.all(running);
    const wallS = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    const end: ChildStats = await gateway.stats();
    agent.destroy();
    const problems: Record<string, number> = {};
    for (const r of results) if (!r.ok) problems[r.problem as string] = (problems[r.problem as string] ?? 0) + 1;
    const times = results.map((r) => r.ms / 1000).sort((a, b) => a - b);
    return {
      streams: n,
      complete: results.filter((r) => r.ok).length,
      problems,
      wallS,
      p50S: times[Math.floor(times.length / 2)] ?? NaN,
      maxS: times[times.length - 1] ?? NaN,
      idleRss: idle.rss,
      peakRss: Math.max(peakRss, end.maxRss),
      peakHeap: Math.max(peakHeap, end.heapUsed),
      cpuS: (end.cpuUs - idle.cpuUs) / 1e6,
      lagP99Ms: end.lagP99Ms,
      lagMaxMs: end.lagMaxMs,
    };
  } finally {
    await gateway.stop();
  }
}

const fmt = (x: number, d = 0): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

function render(rows: LevelResult[], cmd: string, fds: number): string {
  const big = rows[rows.length - 1] as LevelResult;
  const small = rows[0] as LevelResult;
  const perStreamKb =
    rows.length > 1 && big.streams > small.streams
      ? (((big.peakRss - small.peakRss) / (big.streams - small.streams)) * 1024) / MB
      : (((big.peakRss - big.idleRss) / big.streams) * 1024) / MB;
  const answerS = (tokens * tokenMs) / 1000;
  const lines = [
    '## Concurrent streams on one core — `npm run bench:streams`',
    '',
    `Command: \`${cmd}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, descriptors per process ${fds}.`,
    `Pinning: ${taskset ? 'the gateway `taskset -c 0`; the mock upstream and the clients `taskset -c 1`' : 'none (taskset missing)'}. Default pipeline (metrics, request log to /dev/null, queue, balancer, retries, adaptive timeouts); the upstream's account cap stated as the level.`,
    `Every stream: \`stream: true\`, ${tokens} tokens, one every ${tokenMs} ms (an answer takes ${answerS} s); opened at ${fmt(rampPerS)}/s. ${Math.round(queuedShare * 100)}% of them find the mock's slots full and wait in its queue on \`: keep-alive\` comments until a slot frees, then take one answer more. The machine is shared with other agents' work: lag and CPU carry its noise (one run per level).`,
    '',
    '| streams | complete | wall s | stream p50 / max s | idle RSS MB | peak RSS MB | peak heap MB | gateway CPU s | CPU ms per stream | event-loop lag p99 / max ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${fmt(r.streams)} | ${fmt(r.complete)} (${fmt((100 * r.complete) / r.streams, 1)}%)${
          Object.keys(r.problems).length > 0
            ? ` — ${Object.entries(r.problems)
                .map(([k, v]) => `${v}× ${k}`)
                .join(', ')}`
            : ''
        } | ${fmt(r.wallS, 1)} | ${fmt(r.p50S, 1)} / ${fmt(r.maxS, 1)} | ${fmt(r.idleRss / MB)} | ${fmt(r.peakRss / MB)} | ${fmt(r.peakHeap / MB)} | ${fmt(r.cpuS, 1)} | ${fmt((1000 * r.cpuS) / r.streams, 2)} | ${fmt(r.lagP99Ms, 1)} / ${fmt(r.lagMaxMs, 1)} |`,
    ),
    '',
    `Per stream: ~${fmt(perStreamKb)} KB of RSS (peak RSS difference between the levels over the difference in streams) and ${fmt((1000 * big.cpuS) / big.streams, 2)} ms of CPU for a ${answerS} s answer of ${tokens} events, i.e. ${fmt((big.cpuS / big.wallS) * 100)}% of a core for ${fmt(big.streams)} streams over ${fmt(big.wallS, 1)} s. ` +
      `At that rate 100,000 such streams would need ~${fmt((100_000 * perStreamKb) / 1024 / 1024, 1)} GB of memory and ~${fmt((100_000 * (big.cpuS / big.streams)) / answerS, 1)} cores (one gateway process per core, each under ${fmt(Math.floor(fds / 2))} streams by its descriptor limit).`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const fds = fdLimit();
  for (const n of levels) {
    if (Number.isFinite(fds) && 2 * n + 200 > fds)
      throw new Error(
        `${n} streams need ${2 * n + 200} descriptors in the gateway; ulimit -n is ${fds} (raise it, or lower --streams)`,
      );
  }
  log(
    `bench:streams: levels ${levels.join(', ')}, ${tokens} tokens every ${tokenMs} ms, ramp ${rampPerS}/s, queued share ${queuedShare}, descriptors ${fds}, pinning ${taskset ? 'on' : 'off'}`,
  );
  const rows: LevelResult[] = [];
  for (const n of levels) {
    const slots = Math.max(1, Math.round(n * (1 - queuedShare)));
    const mock = await startChild(
      'mock',
      join(HERE, 'servers', 'mock.ts'),
      [
        '--token-ms',
        String(tokenMs),
        '--max-tokens',
        String(tokens),
        '--slots',
        queuedShare === 0 ? 'unlimited' : String(slots),
        '--queue',
        String(n),
      ],
      { core: core(1) },
    );
    try {
      const r = await level(n, mock);
      rows.push(r);
      log(
        `  ${n} streams: ${r.complete} complete ${JSON.stringify(r.problems)} in ${r.wallS.toFixed(1)} s; RSS idle ${(r.idleRss / MB).toFixed(0)} MB peak ${(r.peakRss / MB).toFixed(0)} MB; heap peak ${(r.peakHeap / MB).toFixed(0)} MB; CPU ${r.cpuS.toFixed(1)} s; lag p99 ${r.lagP99Ms.toFixed(1)} ms max ${r.lagMaxMs.toFixed(1)} ms`,
      );
    } finally {
      await mock.stop();
    }
  }
  const md = render(rows, `npm run bench:streams${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`, fds);
  console.log(md);
  if (!flags['no-write']) {
    writeDocSection(DOC, 'streams', md);
    log(`wrote ${DOC}`);
  }
}

await runBench('bench:streams', 300, main);
