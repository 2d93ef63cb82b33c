/**
 * Where `spillway demo` loses to its best-possible column:
 *   npm run bench:demo-ceiling -- [--seeds 1,2,3] [--no-write]
 * Runs the demo once per seed (about 80 s each) and replays the Spillway side's recorded arrivals under door
 * rules of increasing realism (src/storm/door-ceiling.ts): a door with perfect knowledge, then with Spillway's
 * deadline margin, then with its class headroom, then judging every request by the mean service time. The step from
 * the column to the last door row is what the rules cost with perfect estimates; the step from there to the measured
 * line is what estimates, fault handling and the network cost. Written to docs/benchmarks.md with the command.
 */
import { bestPossible, fleetOutages, jobsOf, pooledSlots } from '../src/storm/best-possible.ts';
import { doorCeiling, doorRules, marginOf, servedPct } from '../src/storm/door-ceiling.ts';
import { displacingRows } from '../src/storm/displacing-ceiling.ts';
import { demoFleet } from '../src/storm/demo-fleet.ts';
import { runDemo } from '../src/storm/demo-run.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import type { Job } from '../src/storm/best-possible.ts';
import type { RequestPriority } from '../src/priority.ts';
import { benchArgs, usageError } from './args.ts';

const values = benchArgs(import.meta.url, {
  seeds: { type: 'string', default: '1' },
  'no-write': { type: 'boolean', default: false },
});
const seeds = (values.seeds ?? '1').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n))
    usageError(import.meta.url, `--seeds expects whole numbers separated by commas, got "${values.seeds}"`);
  return n;
});

const DURATION_S = 60;
const DEADLINE_S = 15;
const PRIORITIES: readonly RequestPriority[] = ['high', 'normal', 'low'];
const rules = doorRules(DEADLINE_S);

interface Line {
  label: string;
  cells: string[];
}
const lines: Line[] = [
  { label: 'best possible (the column)', cells: [] },
  ...rules.map(([label]) => ({ label, cells: [] })),
];
/** The displacing door's rows (labelled by the first seed's run: the labels are the same in every run). */
const displacing: Line[] = [];
const measured: Line = { label: '**Spillway, measured**', cells: [] };
const byClass = (jobs: readonly Job[], served: readonly boolean[]) =>
  PRIORITIES.map((p) => {
    const of = jobs.flatMap((j, i) => (j.priority === p ? [served[i] === true] : []));
    return servedPct(of).toFixed(1);
  }).join(' / ');
const cell = (jobs: readonly Job[], served: readonly boolean[]) =>
  `${servedPct(served).toFixed(1)} (${byClass(jobs, served)})`;

const sink = { write: () => true };
for (const seed of seeds) {
  process.stderr.write(`demo, seed ${seed}...\n`);
  const result = await runDemo({
    durationS: DURATION_S,
    seed,
    rateX: 1.3,
    port: 0,
    deadlineS: DEADLINE_S,
    logLevel: 'warn',
    out: sink,
  });
  const records = result.records.spillway ?? [];
  const fleet = demoFleet(seed, DURATION_S);
  const jobs = jobsOf(records, fleet, DEADLINE_S);
  const slots = pooledSlots(fleet);
  const outages = fleetOutages(fleet);
  lines[0]?.cells.push(cell(jobs, bestPossible(jobs, slots, outages)));
  rules.forEach(([, rule], i) => lines[i + 1]?.cells.push(cell(jobs, doorCeiling(jobs, slots, outages, rule))));
  displacingRows(jobs, slots, outages, marginOf(DEADLINE_S)).forEach((r, i) =>
    (displacing[i] ??= { label: r.label, cells: [] }).cells.push(`${cell(jobs, r.served)}: ${r.note}`),
  );
  const ok = records.map((r) => r.outcome === 'ok');
  const summary = result.summaries.find((s) => s.target === 'spillway');
  // Admitted and then lost: neither an answer nor a refusal (cut streams, 504s, 502s).
  const lost = summary === undefined ? NaN : summary.requests - summary.successes - summary.refusals;
  measured.cells.push(`${cell(jobs, ok)}, late refusals ${summary?.lateRefusals ?? NaN}, lost after admission ${lost}`);
}

const table = [
  `| success % (high / normal / low) | ${seeds.map((s) => `seed ${s}`).join(' | ')} |`,
  `|---|${seeds.map(() => '---').join('|')}|`,
  ...[...lines, ...displacing, measured].map((l) => `| ${l.label} | ${l.cells.join(' | ')} |`),
].join('\n');
const body = [
  `\`npm run bench:demo-ceiling -- --seeds ${seeds.join(',')}\` (${new Date().toISOString().slice(0, 10)}): the demo's`,
  'arrivals replayed under door rules of increasing realism (`src/storm/door-ceiling.ts`), beside what Spillway',
  'measured in the same run.',
  '',
  table,
].join('\n');
process.stdout.write(`${body}\n`);
if (!values['no-write'])
  writeDocSection(new URL('../docs/benchmarks.md', import.meta.url).pathname, 'demo-ceiling', body);
