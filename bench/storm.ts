/**
 * The storm benchmark: `npm run bench:storm -- --scenario NAME|all --target direct|spillway|URL [--compare] [--door messages] [--records DIR]`.
 * `--door messages` sends the Spillway side through the Anthropic Messages door instead of chat completions.
 * Runs each scenario from bench/scenarios/ against a fresh simulated fleet and scores every request as a client
 * would (success = 200 and the complete, correct answer). With --compare, direct and Spillway run one after the
 * other on the same seeded storm and the table is written to docs/benchmarks.md with the command.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { loadScenario, type Scenario } from '../src/storm/scenario.ts';
import { runStorm, type TargetKind } from '../src/storm/run-storm.ts';
import { summaryTable } from '../src/storm/table.ts';
import { writeDocSection } from '../src/storm/doc-section.ts';
import type { Summary } from '../src/storm/summary.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    scenario: { type: 'string', default: 'all' },
    target: { type: 'string', default: 'spillway' },
    compare: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    /** Also write every request's record (send offset, priority, latency, verdict) to DIR/SCENARIO-TARGET.jsonl. */
    records: { type: 'string' },
    door: { type: 'string' },
  },
  strict: true,
});

const dir = new URL('./scenarios/', import.meta.url).pathname;
const names = values.scenario === 'all' ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort() : [values.scenario];
const targets: TargetKind[] = values.compare ? ['direct', 'spillway'] : [values.target === 'direct' || values.target === 'spillway' ? values.target : { url: values.target }];
if (values.door !== undefined && values.door !== 'messages') throw new Error(`--door ${values.door}: expected messages`);
const door = values.door === 'messages' ? 'messages' as const : undefined;
const command = `npm run bench:storm -- ${process.argv.slice(2).join(' ')}`.trim();

for (const name of names) {
  const scenario: Scenario = loadScenario(`${dir}${name}.yaml`);
  const results: Summary[] = [];
  for (const target of targets) {
    const label = typeof target === 'string' ? target : target.url;
    process.stderr.write(`storm ${name} → ${label}: ${scenario.durationS} s, capacity ${scenario.capacityRps.toFixed(1)} req/s ...\n`);
    results.push(await runStorm(scenario, target, {
      ...(door === undefined ? {} : { door }),
      onProgress: (run) => {
        if (process.stderr.isTTY) process.stderr.write(`  ${label}: ${run.requestsSent} sent, ${run.records.length} answered\r`);
      },
      onRecords: (records) => {
        if (values.records === undefined) return;
        mkdirSync(values.records, { recursive: true });
        const file = join(values.records, `${name}-${label.replace(/[^\w.-]+/g, '_')}.jsonl`);
        writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      },
    }));
    process.stderr.write('\n');
  }
  const table = summaryTable(name, results);
  process.stdout.write(`\n${scenario.description}\n\n${table}\n`);
  if (values.compare && !values['no-write']) {
    writeDocSection('docs/benchmarks.md', `storm:${name}${door === undefined ? '' : `:${door}`}`, [
      `### Storm: ${name}`,
      '',
      scenario.description,
      '',
      `Command: \`${command}\` — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.`,
      `Fleet capacity ${scenario.capacityRps.toFixed(1)} req/s; seed ${scenario.seed}; client deadline ${scenario.mix.deadlineS} s.`,
      '',
      table,
    ].join('\n'));
  }
}
