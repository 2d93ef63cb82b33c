import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSchema } from '../../src/config/describe-schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { parseConfigText, resolveConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { Metrics } from '../../src/observe/metrics.ts';

/** The rows of the first markdown table whose first cell is a backquoted name: name → the other cells. */
function tableRows(file: string): Map<string, string[]> {
  return tableRowsOf(readFileSync(file, 'utf8'));
}

function tableRowsOf(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined)
      rows.set(
        m[1],
        m[2].split(/(?<!\\)\|/).map((c) => c.trim()),
      );
  }
  return rows;
}

/** Where a docs/configuration.md text says something other than the schema: one line per difference. */
function configDocsProblems(text: string): string[] {
  const problems: string[] = [];
  const documented = tableRowsOf(text);
  const keys = describeSchema(configSchema);
  const rowNames = [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
  for (const [i, name] of rowNames.entries())
    if (rowNames.indexOf(name) !== i) problems.push(`${name} is documented twice`);
  for (const k of keys) {
    // Every key says what it does in the schema, and the docs show that text word for word.
    if (k.description.trim() === '') problems.push(`${k.path} has no description in schema.ts`);
    const row = documented.get(k.path);
    if (row === undefined) {
      problems.push(`${k.path} is missing`);
      continue;
    }
    if (row.length !== 3)
      problems.push(`the row of ${k.path} does not have the columns key | type | default | meaning`);
    if (row[0] !== k.type) problems.push(`type of ${k.path}: ${row[0]} in the docs, ${k.type} in the schema`);
    const shown = row[1] === '—' ? '—' : row[1]?.replace(/^`|`$/g, '');
    if (shown !== k.default) problems.push(`default of ${k.path}: ${shown} in the docs, ${k.default} in the schema`);
    if (row[2]?.replace(/\\\|/g, '|') !== k.description)
      problems.push(`description of ${k.path}: the docs and schema.ts say different things`);
  }
  const known = new Set(keys.map((k) => k.path));
  for (const path of documented.keys())
    if (!known.has(path)) problems.push(`${path} is documented, but the schema does not have it`);
  return problems;
}

test('docs/configuration.md lists every config key once, with its type, default and description from the schema, and nothing else', () => {
  assert.deepEqual(configDocsProblems(readFileSync('docs/configuration.md', 'utf8')), []);
});

test('the configuration docs check catches a changed description, type or default, a repeated row and a key the schema lacks', () => {
  const text = readFileSync('docs/configuration.md', 'utf8');
  const row = '| `server.host` | string | `127.0.0.1` | Address to listen on. |';
  assert.ok(text.includes(row), 'the server.host row this test edits');
  const edited = (replacement: string): string[] => configDocsProblems(text.replace(row, replacement));
  assert.deepEqual(edited('| `server.host` | string | `127.0.0.1` | Address to listen on, or not. |'), [
    'description of server.host: the docs and schema.ts say different things',
  ]);
  assert.deepEqual(edited('| `server.host` | integer | `127.0.0.1` | Address to listen on. |'), [
    'type of server.host: integer in the docs, string in the schema',
  ]);
  assert.deepEqual(edited('| `server.host` | string | `0.0.0.0` | Address to listen on. |'), [
    'default of server.host: 0.0.0.0 in the docs, 127.0.0.1 in the schema',
  ]);
  assert.deepEqual(edited(`${row}\n${row}`), ['server.host is documented twice']);
  assert.deepEqual(edited(`${row}\n| \`server.hostname\` | string | — | Another name. |`), [
    'server.hostname is documented, but the schema does not have it',
  ]);
});

test('docs/errors.md lists every error code with its status, and nothing else', () => {
  const documented = tableRows('docs/errors.md');
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    assert.equal(documented.get(code)?.[0], String(e.status), `${code} in docs/errors.md`);
  }
  for (const code of documented.keys())
    assert.ok(code in ERROR_CODES, `docs/errors.md documents ${code}, which src/errors.ts does not have`);
});

test('docs/metrics.md lists every spillway_ metric, and nothing else', async () => {
  const documented = tableRows('docs/metrics.md');
  const own = (await new Metrics().registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((n) => !/^spillway_(process|nodejs)_/.test(n));
  for (const name of own) assert.ok(documented.has(name), `${name} is missing from docs/metrics.md`);
  for (const name of documented.keys())
    assert.ok(own.includes(name), `docs/metrics.md documents ${name}, which is not registered`);
});

test('every YAML config example in README.md, README.zh-CN.md and docs/ (docs/zh-CN/ included) is a valid config', () => {
  const files = [
    'README.md',
    'README.zh-CN.md',
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync('docs/zh-CN')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/zh-CN/${f}`),
  ];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const yaml = m[1] ?? '';
      if (!/^upstreams:/m.test(yaml) || !/^models:/m.test(yaml)) continue; // fragments, and the mock's fleet files, are not gateway configs
      // Every ${VAR} an example uses stands for a secret the reader supplies.
      const env = Object.fromEntries(
        [...yaml.matchAll(/\$\{([A-Z0-9_]+)/g)].map((v) => [v[1], 'doc-secret-value-0001']),
      );
      assert.doesNotThrow(() => parseConfigText(yaml, file, env), `a YAML example in ${file}`);
      checked++;
    }
  }
  assert.ok(checked >= 2, `found ${checked} config examples`);
});

test('docs/architecture.md names only files and folders that exist', () => {
  const text = readFileSync('docs/architecture.md', 'utf8');
  const named = [...text.matchAll(/`(src\/[\w/.-]+)`/g)].map((m) => m[1] as string);
  assert.ok(named.length > 10, 'the map names the files of the path');
  for (const path of named) assert.ok(existsSync(path), `docs/architecture.md names ${path}, which does not exist`);
  // The layout: a line that starts with a folder names files of that folder, and so do the lines indented under it.
  const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  let folder = '';
  let checked = 0;
  for (const line of layout.split('\n')) {
    const lead = /^(src\/(?:[\w-]+\/)*)/.exec(line);
    if (lead?.[1] !== undefined) folder = lead[1];
    else if (!/^\s/.test(line)) folder = '';
    if (folder === '') continue;
    for (const m of line.matchAll(/(?<![\w/<>.-])(src\/[\w/.-]+|[\w-]+\.ts\b|src\/[\w-]+\/)/g)) {
      const path = (m[1] as string).startsWith('src/') ? (m[1] as string) : `${folder}${m[1] as string}`;
      assert.ok(existsSync(path), `the layout in docs/architecture.md names ${path}, which does not exist`);
      checked++;
    }
  }
  assert.ok(checked > 30, `checked ${checked} names in the layout`);
});

/** The pipeline's stages as the diagram of docs/architecture.md draws them, up to dispatch; `?` marks optional. */
function drawnStages(text: string): { name: string; optional: boolean }[] {
  const diagram = /The path as `src\/gateway.ts` lists it[^\n]*\n\n```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  const upToDispatch = diagram.slice(0, diagram.indexOf('dispatch') + 'dispatch'.length);
  return [...upToDispatch.matchAll(/─▶ ([A-Za-z-]+)(\?)?/g)]
    .map((m) => ({ name: m[1] as string, optional: m[2] === '?' }))
    .filter((s) => s.name !== 'client');
}

test('docs/architecture.md draws and tables the stages src/gateway.ts builds, in its order, marking those a feature leaves out', async (t) => {
  const text = readFileSync('docs/architecture.md', 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'spillway-arch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = createLogger('silent');
  const base = {
    log: { level: 'silent' },
    upstreams: [{ name: 'a', url: 'http://127.0.0.1:9/v1' }],
    models: { m: { routes: [{ upstream: 'a' }] } },
  };
  const everyFeature = {
    ...base,
    models: { m: { routes: [{ upstream: 'a' }], requests_per_minute: 100 } },
    auth: { keys: [{ key: 'gateway-key-0001', tenant: 't' }] },
    tenants: { t: {} },
    degrade: { queue_depth: 10 },
    cache: { models: ['m'] },
    tracing: { otlp_endpoint: 'http://127.0.0.1:9/v1/traces' },
    jobs: { enabled: true, data_dir: dir },
  };
  const stagesOf = async (raw: object): Promise<readonly string[]> => {
    const gw = await startGateway(resolveConfig(raw, 'architecture test'), { port: 0, host: '127.0.0.1', log });
    t.after(() => gw.shutdown(0));
    return gw.runtime.stages;
  };
  const all = await stagesOf(everyFeature);
  const fewest = await stagesOf(base);
  const drawn = drawnStages(text);
  assert.deepEqual(
    drawn.map((s) => s.name),
    ['HttpServer', ...all],
    'the diagram shows the stages in the order src/gateway.ts lists them',
  );
  const optional = all.filter((s) => !fewest.includes(s));
  assert.deepEqual(
    drawn.filter((s) => s.optional).map((s) => s.name),
    optional,
    'the diagram marks with ? exactly the stages a feature leaves out',
  );
  const table = new Map(
    [...text.matchAll(/^\| ([a-z -]+) \| `(src\/[\w/.-]+)`/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  for (const stage of all) {
    const file = table.get(stage);
    assert.ok(file, `the stage table of docs/architecture.md has no row for ${stage}`);
    assert.ok(
      readFileSync(file, 'utf8').includes(`name: '${stage}'`),
      `${file}, named for ${stage}, does not build a stage of that name`,
    );
  }
});
