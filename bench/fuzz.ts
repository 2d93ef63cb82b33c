/**
 * `npm run bench:fuzz` — the fuzz suite of test/fuzz at scale: seeded malformed inputs (framing, bodies, paths with
 * odd encodings, headers, multipart uploads, admin and jobs routes, SSE-related headers) against a real
 * `spillway start` process on the mock, with jobs, the cache and the open admin API on. Its heap is capped
 * (`--max-old-space-size=64`): a leak ends the process instead of hiding in a large heap.
 *
 * Passes when the process stays up, every answer is well-formed HTTP, every 4xx/5xx carries an OpenAI-style JSON
 * error, there is no 500 and no internal error in the log, and RSS grows by less than 16 MiB over the last quarter
 * of the inputs. The first three quarters are left out of the leak check: RSS climbs over the first ~10 000 inputs
 * by 120–160 MiB as the allocator settles on 1 MiB bodies, 600 KiB uploads and 70 KiB headers, how much depending on
 * where it started (one run started at 103 MiB and ended at 261, another at 145 and ended at 269), and then levels
 * off; a run of 25 000 inputs was still settling half-way. A leak keeps climbing.
 *
 * Flags: --count N (100000), --seed N (20261206), --concurrency N (16), --no-write (leave docs/benchmarks.md alone).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { positive, runBench } from './run-bench.ts';
import { benchArgs } from './args.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { startFuzzTarget } from '../test/fuzz/fuzz-target.ts';
import { describeFailures, runFuzz, type FuzzSummary } from '../test/fuzz/fuzz-run.ts';
import { KINDS } from '../test/fuzz/fuzz-inputs.ts';

const flags = benchArgs(import.meta.url, {
  count: { type: 'string' },
  seed: { type: 'string' },
  concurrency: { type: 'string' },
  'no-write': { type: 'boolean', default: false },
});
const count = Math.round(positive('count', flags.count, 100_000));
const seed = Math.round(positive('seed', flags.seed, 20261206));
const concurrency = Math.round(positive('concurrency', flags.concurrency, 16));
/** Over the last quarter of the inputs: 0.65 KiB an input at the default count, what 32 MiB over the half was. */
const RSS_GROWTH_LIMIT_MIB = 16;
const HEAP_MIB = 64;

function table(s: FuzzSummary): string {
  const classes = ['2xx', '4xx', '5xx', 'closed'];
  const rows = KINDS.map((k) => {
    const c = s.byKind[k] ?? {};
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    return `| ${k} | ${total} | ${classes.map((x) => c[x] ?? 0).join(' | ')} |`;
  });
  const statuses = Object.entries(s.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => `${k === '0' ? 'closed' : k}: ${v}`)
    .join(', ');
  return [
    '| kind | inputs | 2xx | 4xx | 5xx | closed |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Statuses: ${statuses}.`,
    '',
    '| check | result |',
    '|---|---|',
    `| process alive at the end | ${s.alive ? 'yes' : '**no**'} |`,
    `| bad answers (malformed HTTP, 4xx/5xx without OpenAI JSON error, 500, no answer) | ${s.failureCount} |`,
    `| 500s | ${s.statuses['500'] ?? 0} |`,
    `| internal errors logged | ${s.errorLogLines} |`,
    `| RSS start → half-way → three quarters → end (peak), MiB | ${[s.rssStartMiB, s.rssMidMiB, s.rssLastQuarterMiB, s.rssEndMiB].map((m) => m.toFixed(0)).join(' → ')} (${s.rssPeakMiB.toFixed(0)}) |`,
    `| inputs per second | ${(s.inputs / s.seconds).toFixed(0)} |`,
  ].join('\n');
}

function passed(s: FuzzSummary): boolean {
  return (
    s.alive &&
    s.inputs === count &&
    s.failureCount === 0 &&
    (s.statuses['500'] ?? 0) === 0 &&
    s.errorLogLines === 0 &&
    s.rssLastQuarterMiB > 0 &&
    s.rssEndMiB - s.rssLastQuarterMiB < RSS_GROWTH_LIMIT_MIB
  );
}

await runBench('bench:fuzz', 3600, async () => {
  const target = await startFuzzTarget({ nodeFlags: [`--max-old-space-size=${HEAP_MIB}`] });
  try {
    console.log(`bench:fuzz: ${count} inputs, seed ${seed}, ${concurrency} connections, gateway pid ${target.pid}`);
    const s = await runFuzz(target, {
      seed,
      count,
      concurrency,
      keepFailures: 20,
      progressEvery: 10_000,
      onProgress: (n, cur) =>
        console.log(
          `  ${n} inputs, ${cur.failureCount} bad, RSS ${(target.alive() ? target.rssBytes() / 1048576 : 0).toFixed(0)} MiB`,
        ),
    });
    const ok = passed(s);
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const body = [
      '## Fuzz — `npm run bench:fuzz`',
      '',
      `Command: \`npm run bench:fuzz -- --count ${count}\` — ${when} UTC, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}.`,
      `Settings: seed ${seed}, ${concurrency} connections, one fresh connection per input, the gateway's heap capped at ${HEAP_MIB} MiB; took ${s.seconds.toFixed(0)} s.`,
      'The same generators as test/fuzz (3,000 inputs there); `fuzzInput(seed, index)` replays any one input.',
      `Pass: process up, zero bad answers, zero 500s, no internal error logged, RSS growth over the last quarter under ${RSS_GROWTH_LIMIT_MIB} MiB — **${ok ? 'PASS' : 'FAIL'}**.`,
      '',
      table(s),
    ].join('\n');
    console.log(`\n${body}\n`);
    if (s.failures.length > 0) console.log(describeFailures(s));
    if (!ok) {
      process.exitCode = 1;
      return;
    }
    if (flags['no-write'] !== true)
      writeDocSection(join(import.meta.dirname, '..', 'docs', 'benchmarks.md'), 'fuzz', body);
  } finally {
    await target.close();
  }
});
