import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describeSchema } from '../../src/config/describe-schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { Metrics } from '../../src/observe/metrics.ts';

/** The rows of the first markdown table whose first cell is a backquoted name: name → the other cells. */
function tableRows(file: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.set(m[1], m[2].split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

test('docs/configuration.md lists every config key with its default and its description from the schema, and nothing else', () => {
  const documented = tableRows('docs/configuration.md');
  const keys = describeSchema(configSchema);
  for (const k of keys) {
    const row = documented.get(k.path);
    assert.ok(row, `${k.path} is missing from docs/configuration.md`);
    const shown = row[1] === '—' ? '—' : row[1]?.replace(/^`|`$/g, '');
    assert.equal(shown, k.default, `default of ${k.path}`);
    assert.equal(row[2]?.replace(/\\\|/g, '|'), k.description, `description of ${k.path}: docs/configuration.md and schema.ts say different things`);
  }
  const known = new Set(keys.map((k) => k.path));
  for (const path of documented.keys()) assert.ok(known.has(path), `docs/configuration.md documents ${path}, which the schema does not have`);
});

test('docs/errors.md lists every error code with its status, and nothing else', () => {
  const documented = tableRows('docs/errors.md');
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    assert.equal(documented.get(code)?.[0], String(e.status), `${code} in docs/errors.md`);
  }
  for (const code of documented.keys()) assert.ok(code in ERROR_CODES, `docs/errors.md documents ${code}, which src/errors.ts does not have`);
});

test('docs/metrics.md lists every spillway_ metric, and nothing else', async () => {
  const documented = tableRows('docs/metrics.md');
  const own = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => !/^spillway_(process|nodejs)_/.test(n));
  for (const name of own) assert.ok(documented.has(name), `${name} is missing from docs/metrics.md`);
  for (const name of documented.keys()) assert.ok(own.includes(name), `docs/metrics.md documents ${name}, which is not registered`);
});

test('every YAML config example in README.md, README.zh-CN.md and docs/ (docs/zh-CN/ included) is a valid config', () => {
  const files = [
    'README.md', 'README.zh-CN.md',
    ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ...readdirSync('docs/zh-CN').filter((f) => f.endsWith('.md')).map((f) => `docs/zh-CN/${f}`),
  ];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const yaml = m[1] ?? '';
      if (!/^upstreams:/m.test(yaml) || !/^models:/m.test(yaml)) continue; // fragments, and the mock's fleet files, are not gateway configs
      // Every ${VAR} an example uses stands for a secret the reader supplies.
      const env = Object.fromEntries([...yaml.matchAll(/\$\{([A-Z0-9_]+)/g)].map((v) => [v[1], 'doc-secret-value-0001']));
      assert.doesNotThrow(() => parseConfigText(yaml, file, env), `a YAML example in ${file}`);
      checked++;
    }
  }
  assert.ok(checked >= 2, `found ${checked} config examples`);
});

test('docs/architecture.md names only files that exist', () => {
  const text = readFileSync('docs/architecture.md', 'utf8');
  const named = [...text.matchAll(/`(src\/[\w/.-]+\.ts)`/g)].map((m) => m[1] as string);
  assert.ok(named.length > 10, 'the map names the files of the path');
  for (const file of named) assert.ok(existsSync(file), `docs/architecture.md names ${file}, which does not exist`);
});
