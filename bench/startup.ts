/**
 * `npm run bench:startup` — cold and idle: how long `spillway start` takes from spawn to a 200 from /readyz, and its
 * resident memory once idle (--settle-ms after ready, 3 s). Runs `bin/spillway.js start` as a user would: a fresh
 * `node` process per start, timed from just before spawn to the first 200 from /readyz (what a load balancer
 * waits for), RSS read from /proc/<pid>/status.
 *
 * Cases (--cases, all by default), --runs N starts each (5), each start with its own compile-cache directory:
 * - `install`: a typical config (one upstream, kind stated so no startup probe waits on it, one model, defaults
 *   otherwise), the first start after installing: the package's `postinstall` script (as npm runs it) warmed
 *   Node's compile cache;
 * - `restart`: the same config, the cache warm from a previous start (a restart, a replica on the same image);
 * - `empty`: the same config, cache empty (install scripts skipped, e.g. `npm ci --ignore-scripts`);
 * - `off`: no compile cache at all (NODE_DISABLE_COMPILE_CACHE=1: a read-only disk);
 * - `zero-key`: no config file with DEEPSEEK_API_KEY set (the zero-config start, DESIGN §1), after install;
 * - `zero-sim`: no config file and no key (the embedded simulator), after install.
 *
 * --long-idle-s N (30; 0: off): the first case's last start idles N s more and its RSS then is reported too.
 * --before DIR measures another checkout's `bin/spillway.js` too (same cases, starts alternated with this one's),
 * so one run gives a change's before and after. Prints a markdown table; --no-write leaves docs/benchmarks.md alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { positive, runBench } from './run-bench.ts';
import { mean } from './stats.ts';
import { benchArgs, usageError } from './args.ts';

const argv = process.argv.slice(2);
const flags = benchArgs(import.meta.url, {
  runs: { type: 'string' },
  cases: { type: 'string' },
  before: { type: 'string' },
  'settle-ms': { type: 'string' },
  'long-idle-s': { type: 'string' },
  'no-write': { type: 'boolean', default: false },
});
const runs = Math.round(positive('runs', flags.runs, 5));
const settleMs = positive('settle-ms', flags['settle-ms'], 3000);
const longIdleS = flags['long-idle-s'] === '0' ? 0 : positive('long-idle-s', flags['long-idle-s'], 30);
const HERE = import.meta.dirname;
const DOC = join(HERE, '..', 'docs', 'benchmarks.md');
const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Case {
  id: string;
  label: string;
  /** Uses the config file (else the zero-config start). */
  config: boolean;
  env: Record<string, string>;
  /** How the compile cache is prepared before the measured start. */
  cache: 'install' | 'restart' | 'empty' | 'off';
}

const CASES: Case[] = [
  { id: 'install', label: 'typical config, first start after install', config: true, env: {}, cache: 'install' },
  { id: 'restart', label: 'typical config, restart (compile cache warm)', config: true, env: {}, cache: 'restart' },
  {
    id: 'empty',
    label: 'typical config, compile cache empty (install scripts skipped)',
    config: true,
    env: {},
    cache: 'empty',
  },
  { id: 'off', label: 'typical config, no compile cache', config: true, env: {}, cache: 'off' },
  {
    id: 'zero-key',
    label: 'no config, DEEPSEEK_API_KEY set, first start after install',
    config: false,
    env: { DEEPSEEK_API_KEY: 'sk-bench-not-used' },
    cache: 'install',
  },
  {
    id: 'zero-sim',
    label: 'no config, no key (embedded simulator), after install',
    config: false,
    env: {},
    cache: 'install',
  },
];

interface Start {
  readyMs: number;
  idleRss: number;
  /** RSS after --long-idle-s of idling (one start per checkout): what the idle process settles at. */
  longIdleRss?: number;
}

interface Checkout {
  name: string;
  root: string;
  /** The package's install step (npm runs `postinstall` after installing it), or null when it has none. */
  postinstall: string | null;
}

function checkout(name: string, root: string): Checkout {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return { name, root, postinstall: pkg.scripts?.postinstall ?? null };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

async function startOnce(
  co: Checkout,
  args: string[],
  env: NodeJS.ProcessEnv,
  measure: boolean,
  longIdle = false,
): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(co.root, 'bin', 'spillway.js'), 'start', ...args, '--port', '0'], {
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
    if (measure) await sleep(settleMs);
    const idleRss = rssOf(child.pid as number);
    if (!longIdle) return { readyMs, idleRss };
    await sleep(longIdleS * 1000 - settleMs);
    return { readyMs, idleRss, longIdleRss: rssOf(child.pid as number) };
  } finally {
    // SIGTERM drains and exits normally, which is when Node writes the compile cache (the restart case needs it).
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function measureCase(
  co: Checkout,
  c: Case,
  dir: string,
  config: string,
  i: number,
  longIdle: boolean,
): Promise<Start> {
  const cacheDir = join(dir, `cache-${co.name}-${c.id}-${i}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...c.env, NODE_COMPILE_CACHE: cacheDir };
  delete env.NODE_DISABLE_COMPILE_CACHE;
  if (c.env.DEEPSEEK_API_KEY === undefined) delete env.DEEPSEEK_API_KEY;
  if (c.cache === 'off') {
    delete env.NODE_COMPILE_CACHE;
    env.NODE_DISABLE_COMPILE_CACHE = '1';
  }
  const args = c.config ? ['--config', config] : [];
  if (c.cache === 'install' && co.postinstall !== null) {
    const r = spawnSync('sh', ['-c', co.postinstall], { cwd: co.root, env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${co.name}: postinstall failed (${r.status})`);
  }
  if (c.cache === 'restart') await startOnce(co, args, env, false);
  return await startOnce(co, args, env, true, longIdle);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-startup-'));
  const config = join(dir, 'spillway.yaml');
  writeFileSync(
    config,
    'upstreams:\n  - name: up\n    url: http://127.0.0.1:9/v1\n    kind: openai\nmodels:\n  chat:\n    routes:\n      - upstream: up\n',
  );
  const wanted = flags.cases?.split(',') ?? CASES.map((c) => c.id);
  const cases = CASES.filter((c) => wanted.includes(c.id));
  if (cases.length !== wanted.length)
    usageError(import.meta.url, `--cases: known cases are ${CASES.map((c) => c.id).join(',')}`);
  const checkouts = [checkout('this', join(HERE, '..'))];
  if (flags.before !== undefined) checkouts.unshift(checkout('before', flags.before));
  const results = new Map<string, Start[]>();
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      for (const co of checkouts) {
        const key = `${co.name}/${c.id}`;
        // The first case's last start also idles for --long-idle-s: the RSS a long-idle process settles at.
        const longIdle = longIdleS > 0 && c === cases[0] && i === runs - 1;
        results.set(key, [...(results.get(key) ?? []), await measureCase(co, c, dir, config, i, longIdle)]);
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const fmt = (xs: number[], d = 0): string =>
    `${mean(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const cells = (co: Checkout, c: Case): string[] => {
    const starts = results.get(`${co.name}/${c.id}`) ?? [];
    const note = c.cache === 'install' && co.postinstall === null ? ' (no install step)' : '';
    return [fmt(starts.map((s) => s.readyMs)) + note, fmt(starts.map((s) => s.idleRss / MB))];
  };
  const head = checkouts.flatMap((co) =>
    checkouts.length === 1 ? ['ready ms', 'idle RSS MB'] : [`${co.name}: ready ms`, `${co.name}: idle RSS MB`],
  );
  const md = [
    '## Cold and idle — `npm run bench:startup`',
    '',
    `Command: \`npm run bench:startup${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}; ${runs} starts per case${checkouts.length > 1 ? ' and checkout (alternated)' : ''}, mean (min–max); the machine is shared with other agents' work.`,
    `Each start is a new \`node bin/spillway.js start … --port 0\` process with its own compile-cache directory; "ready" is spawn to the first 200 from \`/readyz\`; idle RSS is VmRSS ${(settleMs / 1000).toFixed(1)} s after ready. The typical config: one upstream (kind stated) and one model, defaults otherwise (metrics, request log, queue, jobs, dashboard). "After install" = the package's \`postinstall\` step (it warms Node's compile cache) ran first, as npm runs it.`,
    '',
    `| case | ${head.join(' | ')} |`,
    `|---|${head.map(() => '---:').join('|')}|`,
    ...cases.map((c) => `| ${c.label} | ${checkouts.flatMap((co) => cells(co, c)).join(' | ')} |`),
    ...(longIdleS > 0
      ? [
          '',
          `After ${longIdleS} s of idling (${cases[0]?.label ?? ''}, its last start): RSS ${checkouts
            .map((co) => {
              const v = results.get(`${co.name}/${cases[0]?.id ?? ''}`)?.at(-1)?.longIdleRss;
              return `${v === undefined ? '?' : (v / MB).toFixed(0)} MB${checkouts.length > 1 ? ` (${co.name})` : ''}`;
            })
            .join(', ')} (what idling adds to, or takes from, the first seconds' figure).`,
        ]
      : []),
  ].join('\n');
  console.log(md);
  if (!flags['no-write']) writeDocSection(DOC, 'startup', md);
}

await runBench('bench:startup', 60 + longIdleS * 2 + runs * CASES.length * 2 * 12, main);
