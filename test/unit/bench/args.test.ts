import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openingComment } from '../../../bench/args.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

test("a bench's help is its opening comment without the comment marks", () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-args-'));
  const cases: [string, string, string][] = [
    ['several lines', '/**\n * Line one.\n *   indented flag\n */\nconst x = 1;\n', 'Line one.\n  indented flag'],
    ['a later comment is not the help', '/** First. */\n/** Second. */\n', 'First.'],
    ['no comment', 'const x = 1;\n', 'node '],
  ];
  cases.forEach(([name, text, want], i) => {
    const file = join(dir, `b${i}.ts`);
    writeFileSync(file, text);
    const got = openingComment(pathToFileURL(file).href);
    assert.ok(name === 'no comment' ? got.startsWith(want) : got === want, `${name}: ${JSON.stringify(got)}`);
  });
});

test('a bench answers --help with its flags and a bad flag with one line and exit code 2', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bench/storm.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--scenario NAME\|all/);
  for (const [args, says] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--caps', 'maybe'], /--caps expects known or unknown, got "maybe"/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
