/**
 * The storm benchmark:
 *   npm run bench:storm -- [--scenario NAME|all | --matrix] [--target direct|spillway|URL | --compare]
 *                          [--caps known|unknown] [--sdk-retries] [--deadline-header stainless|spillway|both]
 *                          [--door messages] [--no-write] [--records DIR] [--door-ceiling] [--instances N]
 * `--instances N` (1–8) runs Spillway as N instances sharing one Redis (started for the run), requests spread
 * round robin. `--door messages` sends the Spillway side through the Anthropic Messages door instead of chat
 * completions.
 * `--door-ceiling` also prints, under each table, the run's arrivals replayed under door rules of increasing realism
 * (src/storm/door-ceiling.ts, as `npm run bench:demo-ceiling` does for the demo): what the admission rules cost,
 * and the mean service time of the answers each rule serves (under overload, serving more is serving shorter).
 * Runs each scenario from bench/scenarios/ (or, with --matrix, every single-fault case of bench/scenarios/matrix/)
 * against a fresh simulated fleet and scores every request as a client would (success = 200 and the complete,
 * correct answer). Every table has a best-possible column: the same recorded arrivals replayed offline on the
 * fleet's pooled slots in deadline order (src/storm/best-possible.ts). With --compare, direct and Spillway run one
 * after the other on the same seeded storm and the table is written to docs/benchmarks.md with the command.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { loadScenario, type Scenario } from '../src/storm/scenario.ts';
import { runStorm, type TargetKind } from '../src/storm/run-storm.ts';
import { matrixTable, summaryTable, type MatrixRow } from '../src/storm/table.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import { bestPossible, bestPossibleSummary, fleetOutages, jobsOf, pooledSlots } from '../src/storm/best-possible.ts';
import { doorCeiling, doorRules, marginOf, meanServedMs, servedPct } from '../src/storm/door-ceiling.ts';
import { displacingRows } from '../src/storm/displacing-ceiling.ts';
import type { RequestRecord, Summary } from '../src/storm/summary.ts';
import { launchRedisServer } from '../test/helpers/redis-server.ts';
import { stealMeter } from './machine-load.ts';
import { benchArgs, usageError } from './args.ts';

const values = benchArgs(import.meta.url, {
  scenario: { type: 'string', default: 'all' },
  matrix: { type: 'boolean', default: false },
  target: { type: 'string', default: 'spillway' },
  compare: { type: 'boolean', default: false },
  caps: { type: 'string' },
  'sdk-retries': { type: 'boolean', default: false },
  'deadline-header': { type: 'string' },
  'no-write': { type: 'boolean', default: false },
  /** Also write every request's record to DIR/SCENARIO-TARGET.jsonl. */
  records: { type: 'string' },
  /** Spillway as this many instances sharing one Redis (started here), requests spread round robin. */
  instances: { type: 'string', default: '1' },
  door: { type: 'string' },
  'door-ceiling': { type: 'boolean', default: false },
});

const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1 || instances > 8)
  usageError(import.meta.url, `--instances expects a whole number from 1 to 8, got "${values.instances}"`);
// Several instances share their state through a Redis of their own, on a free loopback port, for this run only.
const redis = instances > 1 ? await launchRedisServer() : undefined;

if (values.caps !== undefined && values.caps !== 'known' && values.caps !== 'unknown')
  usageError(import.meta.url, `--caps expects known or unknown, got "${values.caps}"`);
const HEADERS = ['stainless', 'spillway', 'both'] as const;
const header = HEADERS.find((h) => h === values['deadline-header']);
if (values['deadline-header'] !== undefined && header === undefined) {
  usageError(import.meta.url, `--deadline-header expects ${HEADERS.join(', ')}, got "${values['deadline-header']}"`);
}

const dir = new URL(values.matrix ? './scenarios/matrix/' : './scenarios/', import.meta.url).pathname;
const yamlNames = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !f.startsWith('_'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
const names = values.scenario === 'all' ? yamlNames() : [values.scenario];
const targets: TargetKind[] = values.compare
  ? ['direct', 'spillway']
  : [values.target === 'direct' || values.target === 'spillway' ? values.target : { url: values.target }];
if (values.door !== undefined && values.door !== 'messages')
  usageError(import.meta.url, `--door expects messages, got "${values.door}"`);
const door = values.door === 'messages' ? ('messages' as const) : undefined;
const command = `npm run bench:storm -- ${process.argv.slice(2).join(' ')}`.trim();
/** CPU steal (percent of the machine) from which a run's scores are flagged as not comparable. */
const STEAL_WARN_PERCENT = 10;
const stealWarnings: string[] = [];
const machine = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;

/** The scenario as this run's flags change it. */
function withFlags(s: Scenario): Scenario {
  return {
    ...s,
    caps: (values.caps as Scenario['caps'] | undefined) ?? s.caps,
    client: {
      deadlineHeader: header ?? s.client.deadlineHeader,
      sdkRetries: values['sdk-retries'] || s.client.sdkRetries,
    },
  };
}

async function runScenario(name: string): Promise<{ scenario: Scenario; results: Summary[] }> {
  const scenario = withFlags(loadScenario(`${dir}${name}.yaml`));
  const results: Summary[] = [];
  let arrivals: readonly RequestRecord[] = [];
  for (const target of targets) {
    const label = typeof target === 'string' ? target : target.url;
    process.stderr.write(
      `storm ${name} → ${label}: ${scenario.durationS} s, capacity ${scenario.capacityRps.toFixed(1)} req/s, caps ${scenario.caps} ...\n`,
    );
    const steal = stealMeter();
    results.push(
      await runStorm(scenario, target, {
        instances,
        ...(redis === undefined ? {} : { redisUrl: redis.url }),
        ...(door === undefined ? {} : { door }),
        onProgress: (run) => {
          if (process.stderr.isTTY)
            process.stderr.write(`  ${label}: ${run.requestsSent} sent, ${run.records.length} answered\r`);
        },
        onRecords: (records) => {
          arrivals = records;
          if (values.records === undefined) return;
          mkdirSync(values.records, { recursive: true });
          const file = join(values.records, `${name}-${label.replace(/[^\w.-]+/g, '_')}.jsonl`);
          writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
        },
      }),
    );
    const stolen = steal();
    if (stolen !== null && stolen >= STEAL_WARN_PERCENT)
      stealWarnings.push(`${name} → ${label}: ${stolen.toFixed(0)}%`);
    process.stderr.write(stolen === null ? '\n' : `  CPU steal during the run: ${stolen.toFixed(1)}%\n`);
  }
  results.push(bestPossibleSummary(arrivals, scenario.fleet, scenario.mix.deadlineS));
  if (values['door-ceiling']) process.stdout.write(doorCeilingTable(arrivals, scenario));
  return { scenario, results };
}

const settings = (s: Scenario) =>
  (instances > 1 ? `Spillway as ${instances} instances sharing one Redis, requests spread round robin. ` : '') +
  `Fleet capacity ${s.capacityRps.toFixed(1)} req/s; seed ${s.seed}; client deadline ${s.mix.deadlineS} s (${s.client.deadlineHeader === 'spillway' ? 'x-spillway-deadline-ms' : 'x-stainless-timeout'}); ` +
  `caps ${s.caps === 'known' ? 'known (max_concurrency in the gateway config)' : 'unknown (no max_concurrency in the gateway config)'}${s.client.sdkRetries ? '; SDK-like clients retry once at Retry-After' : ''}.`;

if (values.matrix) {
  const rows: MatrixRow[] = [];
  let last: Scenario | undefined;
  for (const name of names) {
    const { scenario, results } = await runScenario(name);
    last = scenario;
    rows.push({ fault: name, summaries: results });
    process.stdout.write(`\n${summaryTable(name, results)}\n`);
  }
  const table = matrixTable(rows);
  process.stdout.write(`\nFault matrix\n\n${table}\n`);
  if (values.compare && !values['no-write'] && last !== undefined) {
    writeDocSection(
      'docs/benchmarks.md',
      'storm:matrix',
      [
        '### Storm: fault matrix',
        '',
        'Each single fault on its own (bench/scenarios/matrix/), on a healthy fleet of three upstreams at 0.4× capacity; the gateway on defaults.',
        '',
        `Command: \`${command}\` — ${machine}.`,
        settings(last),
        '',
        table,
      ].join('\n'),
    );
  }
} else {
  for (const name of names) {
    const { scenario, results } = await runScenario(name);
    const table = summaryTable(name, results);
    process.stdout.write(`\n${scenario.description}\n\n${table}\n`);
    if (values.compare && !values['no-write']) {
      // A flag that changes the scenario gets its own section, so it never overwrites the scenario's own table.
      const asFiled = loadScenario(`${dir}${name}.yaml`);
      const section = [
        name,
        scenario.caps === asFiled.caps ? '' : `-caps-${scenario.caps}`,
        instances === 1 ? '' : `-${instances}-instances`,
        scenario.client.sdkRetries === asFiled.client.sdkRetries ? '' : '-sdk-retries',
        scenario.client.deadlineHeader === asFiled.client.deadlineHeader
          ? ''
          : `-${scenario.client.deadlineHeader}-header`,
        door === undefined ? '' : `-${door}-door`,
      ].join('');
      writeDocSection(
        'docs/benchmarks.md',
        `storm:${section}`,
        [
          `### Storm: ${section}`,
          '',
          scenario.description,
          '',
          `Command: \`${command}\` — ${machine}.`,
          settings(scenario),
          '',
          table,
        ].join('\n'),
      );
    }
  }
}
await redis?.stop();
if (stealWarnings.length > 0)
  process.stdout.write(
    `\nWARNING: the hypervisor took ${STEAL_WARN_PERCENT}% or more of the CPU during ${stealWarnings.join(', ')}; ` +
      'those scores are not comparable with a quiet run (check `vmstat 1` column st and run again).\n',
  );

/** The last run's arrivals under the door rules (`--door-ceiling`), beside the best-possible column. */
function doorCeilingTable(records: readonly RequestRecord[], s: Scenario): string {
  const jobs = jobsOf(records, s.fleet, s.mix.deadlineS);
  const slots = pooledSlots(s.fleet);
  const outages = fleetOutages(s.fleet);
  const rows = [
    ['best possible (the column)', bestPossible(jobs, slots, outages)] as const,
    ...doorRules(s.mix.deadlineS).map(([label, rule]) => [label, doorCeiling(jobs, slots, outages, rule)] as const),
    ...displacingRows(jobs, slots, outages, marginOf(s.mix.deadlineS)).map(
      (r) => [`${r.label} (${r.note})`, r.served] as const,
    ),
    ['**the last run above, measured**', records.map((r) => r.outcome === 'ok')] as const,
  ];
  const head = `| ${s.name}: the door's ceiling | success % | mean service of the served (ms) |\n|---|---|---|`;
  const line = ([l, v]: readonly [string, readonly boolean[]]) =>
    `| ${l} | ${servedPct(v).toFixed(1)} | ${meanServedMs(jobs, v).toFixed(0)} |`;
  return `\n${head}\n${rows.map(line).join('\n')}\n\n`;
}
