/**
 * `node bench/profile.ts [--gateway-dir DIR] [--seconds S] [--top N]` — where the gateway's time goes, per mode: the
 * gateway (this checkout's, or DIR's) under `node --cpu-prof` on core 0, the bench upstream and autocannon on core 1,
 * a settling load then S seconds measured per mode (non-stream, stream); each mode's window summarised by function,
 * by file and module, and inclusively (bench/profile-summary.ts), as markdown on stdout: the N (15) heaviest rows of
 * each.
 */
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { hasTaskset, pinSelf, startChild } from './children.ts';
import { newestProfile, profileMarkdown, summarizeProfile } from './profile-summary.ts';
import { positive, runBench } from './run-bench.ts';
import { benchArgs } from './args.ts';

const flags = benchArgs(import.meta.url, {
  'gateway-dir': { type: 'string' },
  seconds: { type: 'string' },
  top: { type: 'string' },
});
const seconds = positive('seconds', flags.seconds, 5);
const top = Math.round(positive('top', flags.top, 15));
const HERE = import.meta.dirname;
const taskset = availableParallelism() >= 2 && hasTaskset();
if (taskset) pinSelf(1);
const core = (n: number): number | null => (taskset ? n : null);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-prof-'));
  const upstream = await startChild('upstream', join(HERE, 'servers', 'upstream.ts'), [], { core: core(1) });
  const gw = await startChild(
    'spillway (profiled)',
    join(flags['gateway-dir'] ?? join(HERE, '..'), 'bench', 'servers', 'gateway.ts'),
    ['--upstream', `${upstream.origin}/v1`],
    { core: core(0), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
  );
  const windows: Record<string, { fromUs: number; toUs: number; rps: number }> = {};
  for (const mode of ['json', 'stream'] as const) {
    const body = JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
      ...(mode === 'stream' ? { stream: true } : {}),
    });
    const load = (duration: number) =>
      Promise.resolve(
        autocannon({
          url: `${gw.origin}/v1/chat/completions`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          connections: 32,
          duration,
        }),
      );
    await load(3);
    const s0 = await gw.stats();
    const r = await load(seconds);
    const s1 = await gw.stats();
    windows[mode] = { fromUs: s0.monoUs, toUs: s1.monoUs, rps: r.requests.total / r.duration };
  }
  await gw.stop(15_000);
  await upstream.stop();
  const file = newestProfile(dir);
  for (const [mode, w] of Object.entries(windows)) {
    console.log(`#### ${mode === 'json' ? 'Non-stream' : 'Stream'} (${Math.round(w.rps)} req/s while profiled)\n`);
    console.log(profileMarkdown(summarizeProfile(file, top, w)));
    console.log('');
  }
  console.error(`profile: ${file}`);
}

await runBench('bench:profile', 120 + 2 * seconds, main);
