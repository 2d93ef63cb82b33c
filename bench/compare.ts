/**
 * `node bench/compare.ts --before DIR` — one change's before/after in one run: the gateway of another checkout
 * (DIR: e.g. a `git worktree add --detach DIR <commit>` with node_modules linked) against this one's, beside the
 * minimal pass-through, each pinned to core 0 in turn and measured in 1 s autocannon slices taken round-robin, so
 * that the machine's drift (other agents' work) hits all of them alike. Prints req/s mean ± stdev per target and
 * mode and each gateway's ratio to the pass-through, and the server's CPU time per request: on a machine other
 * processes share, throughput swings with their load while CPU per request barely moves, so the CPU ratio is
 * the steadier verdict.
 *
 * Flags: --before DIR (required), --slices N per target and mode (10), --connections N (32), --modes json,stream,
 * --node-flags "…" (for this checkout's gateway only, e.g. --max-semi-space-size=16).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { hasTaskset, pinSelf, startChild, type Child } from './children.ts';
import { positive, runBench } from './run-bench.ts';
import { mean } from './stats.ts';
import { benchArgs, usageError } from './args.ts';

const flags = benchArgs(import.meta.url, {
  before: { type: 'string' },
  slices: { type: 'string' },
  connections: { type: 'string' },
  modes: { type: 'string' },
  'node-flags': { type: 'string' },
});
if (flags.before === undefined) usageError(import.meta.url, '--before DIR is required');
const slices = Math.round(positive('slices', flags.slices, 10));
const connections = Math.round(positive('connections', flags.connections, 32));
const modes = (flags.modes ?? 'json,stream').split(',') as ('json' | 'stream')[];
const nodeFlags = flags['node-flags'] === undefined ? [] : flags['node-flags'].split(' ').filter((f) => f !== '');
const HERE = import.meta.dirname;
const PATH = '/v1/chat/completions';
const body = (mode: 'json' | 'stream'): string =>
  JSON.stringify({
    model: 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    ...(mode === 'stream' ? { stream: true } : {}),
  });

const taskset = availableParallelism() >= 2 && hasTaskset();
const core = (n: number): number | null => (taskset ? n : null);
if (taskset) pinSelf(1);

async function slice(
  target: Child,
  mode: 'json' | 'stream',
  seconds: number,
): Promise<{ rps: number; cpuUsPerReq: number; bad: number }> {
  const opts = {
    url: target.origin + PATH,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(mode),
    connections,
    pipelining: 1,
    timeout: 10,
    duration: seconds,
  };
  const s0 = await target.stats();
  const r = await autocannon(opts);
  const s1 = await target.stats();
  return {
    rps: r.requests.total / r.duration,
    cpuUsPerReq: (s1.cpuUs - s0.cpuUs) / Math.max(1, r.requests.total),
    bad: r.errors + r.timeouts + r.non2xx,
  };
}

const sd = (xs: number[]): number => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

async function main(): Promise<void> {
  const upstream = await startChild('upstream', join(HERE, 'servers', 'upstream.ts'), [], { core: core(1) });
  const targets: Record<string, Child> = {
    'pass-through': await startChild(
      'pass-through',
      join(HERE, 'servers', 'passthrough.ts'),
      ['--upstream', upstream.origin],
      { core: core(0) },
    ),
    before: await startChild(
      'before',
      join(flags.before as string, 'bench', 'servers', 'gateway.ts'),
      ['--upstream', `${upstream.origin}/v1`],
      { core: core(0) },
    ),
    after: await startChild('after', join(HERE, 'servers', 'gateway.ts'), ['--upstream', `${upstream.origin}/v1`], {
      core: core(0),
      nodeFlags,
    }),
  };
  const names = Object.keys(targets);
  for (const mode of modes) {
    for (const n of names) await slice(targets[n] as Child, mode, 3); // settle: JIT, heap sizing
    const got: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    let bad = 0;
    for (let k = 0; k < slices; k++) {
      for (let i = 0; i < names.length; i++) {
        const n = names[(i + k) % names.length] as string;
        const r = await slice(targets[n] as Child, mode, 1);
        got[n]?.push(r.rps);
        cpu[n]?.push(r.cpuUsPerReq);
        bad += r.bad;
      }
    }
    const pt = mean(got['pass-through'] as number[]);
    console.log(
      `${mode}: ${names.map((n) => `${n} ${Math.round(mean(got[n] as number[]))} ± ${Math.round(sd(got[n] as number[]))} req/s`).join(' | ')} | before/pt ${(mean(got.before as number[]) / pt).toFixed(2)} after/pt ${(mean(got.after as number[]) / pt).toFixed(2)} after/before ${(mean(got.after as number[]) / mean(got.before as number[])).toFixed(3)} (errors ${bad})`,
    );
    // Paired per slice round: the ratio within one round cancels most of the machine's drift.
    const paired = got.after?.map((a, k) => a / ((got.before as number[])[k] as number)) ?? [];
    console.log(
      `  after/before per round: ${mean(paired).toFixed(3)} ± ${sd(paired).toFixed(3)} over ${paired.length} rounds`,
    );
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    console.log(
      `  server CPU µs/request (median of slices): ${names.map((n) => `${n} ${med(cpu[n] as number[]).toFixed(1)}`).join(' | ')} | after/before ${(med(cpu.after as number[]) / med(cpu.before as number[])).toFixed(3)} | pass-through/after ${(med(cpu['pass-through'] as number[]) / med(cpu.after as number[])).toFixed(3)}`,
    );
  }
  for (const t of Object.values(targets)) await t.stop();
  await upstream.stop();
}

await runBench('bench:compare', 60 + modes.length * (slices * 3 * 1.3 + 12), main);
