import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineTooLongError, readLines } from '../../../src/jobs/api/read-lines.ts';

async function lines(t: TestContext, content: string | Buffer, max: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-lines-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, content);
  const out: string[] = [];
  for await (const l of readLines(file, max)) out.push(l);
  return out;
}

test('lines split on \\n and \\r\\n, the last without a newline included, empty lines kept, UTF-8 across chunks intact', async (t) => {
  assert.deepEqual(await lines(t, 'a\nbb\r\n\nccc', 10), ['a', 'bb', '', 'ccc']);
  assert.deepEqual(await lines(t, 'a\n', 10), ['a']);
  assert.deepEqual(await lines(t, '', 10), []);
  const long = 'é'.repeat(50_000); // 100 000 bytes: spans two 64 KiB chunks, a character cut between them
  assert.deepEqual(await lines(t, `${long}\nx\n`, 100_000), [long, 'x']);
});

test('a line of exactly the bound passes (its \\r not counted); one byte more fails with its line number', async (t) => {
  assert.deepEqual(await lines(t, `${'x'.repeat(8)}\r\n`, 8), ['x'.repeat(8)]);
  await assert.rejects(
    lines(t, `ok\n${'x'.repeat(9)}\nok\n`, 8),
    (e: unknown) => e instanceof LineTooLongError && e.lineNo === 2,
  );
  await assert.rejects(
    lines(t, `ok\n${'x'.repeat(9)}`, 8),
    (e: unknown) => e instanceof LineTooLongError && e.lineNo === 2,
  );
});

test('a file that is one huge line without a newline is refused as line 1', async (t) => {
  await assert.rejects(
    lines(t, Buffer.alloc(4 * 1024 * 1024, 0x61), 1024 * 1024),
    (e: unknown) => e instanceof LineTooLongError && e.lineNo === 1,
  );
});
