/**
 * `npm run bench:startup` — cold and idle: how long `spillway start` takes from spawn to a 200 from /readyz, and its
 * resident memory once idle (2 s after ready). Runs `bin/spillway.js start` as a user would, with a config of one
 * upstream (kind stated, so no startup probe waits on it) and one model, default everything else.
 *
 * Three cases, --runs N each (5): the first start on a machine (Node's compile cache empty), the starts after it
 * (cache warm: what a restart or a scaled-out replica on the same image sees), and without the compile cache at
 * all (NODE_DISABLE_COMPILE_CACHE=1: a read-only disk). Prints a markdown table; --no-write leaves
 * docs/benchmarks.md alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { positive, runBench } from './run-bench.ts';
import { mean } from './stats.ts';

const argv = process.argv.slice(2);
const { values: flags } = parseArgs({
  args: argv,
  options: { runs: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
});
const runs = Math.round(positive('runs', flags.runs, 5));
const HERE = import.meta.dirname;
const BIN = join(HERE, '..', 'bin', 'spillway.js');
const DOC = join(HERE, '..', 'docs', 'benchmarks.md');
const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Start {
  readyMs: number;
  idleRss: number;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

async function startOnce(config: string, env: NodeJS.ProcessEnv): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start', '--config', config, '--port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 20 s: ${err}`)), 20_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/[\d.:]+)/.exec(err);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`spillway exited (${code}): ${err}`)));
    });
    // Ready is what a load balancer waits for: the first 200 from /readyz.
    for (;;) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(2);
    }
    const readyMs = performance.now() - t0;
    await sleep(2000);
    return { readyMs, idleRss: rssOf(child.pid as number) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-startup-'));
  const config = join(dir, 'spillway.yaml');
  writeFileSync(
    config,
    'upstreams:\n  - name: up\n    url: http://127.0.0.1:9/v1\n    kind: openai\nmodels:\n  chat:\n    routes:\n      - upstream: up\n',
  );
  const rows: { name: string; starts: Start[] }[] = [];
  const base = { ...process.env };
  delete base.NODE_DISABLE_COMPILE_CACHE;
  const cold: Start[] = [];
  const warm: Start[] = [];
  for (let i = 0; i < runs; i++) {
    const cache = join(dir, `cache-${i}`);
    cold.push(await startOnce(config, { ...base, NODE_COMPILE_CACHE: cache }));
    warm.push(await startOnce(config, { ...base, NODE_COMPILE_CACHE: cache }));
  }
  const none: Start[] = [];
  for (let i = 0; i < runs; i++) none.push(await startOnce(config, { ...base, NODE_DISABLE_COMPILE_CACHE: '1' }));
  rows.push(
    { name: 'first start (compile cache empty)', starts: cold },
    { name: 'restart (compile cache warm)', starts: warm },
    { name: 'no compile cache', starts: none },
  );
  rmSync(dir, { recursive: true, force: true });
  const fmt = (xs: number[], d = 0): string =>
    `${mean(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const md = [
    '## Cold and idle — `npm run bench:startup`',
    '',
    `Command: \`npm run bench:startup${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}; ${runs} starts per case, mean (min–max); the machine is shared with other agents' work.`,
    '`spillway start` with one upstream (kind stated) and one model, defaults otherwise (metrics, request log, queue, jobs, dashboard); "ready" is spawn to the first 200 from `/readyz`; idle RSS is read 2 s after ready.',
    '',
    '| case | ready ms | idle RSS MB |',
    '|---|---:|---:|',
    ...rows.map(
      (r) => `| ${r.name} | ${fmt(r.starts.map((s) => s.readyMs))} | ${fmt(r.starts.map((s) => s.idleRss / MB))} |`,
    ),
  ].join('\n');
  console.log(md);
  if (!flags['no-write']) writeDocSection(DOC, 'startup', md);
}

await runBench('bench:startup', 60 + runs * 3 * 25, main);
