import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog } from '../../../src/observe/access-log.ts';
import { createLogger } from '../../../src/observe/log.ts';
import type { FinishedRequest, RequestRecord } from '../../../src/observe/request-log.ts';

function rec(i: number): FinishedRequest {
  return {
    requestId: `req-${i}`,
    method: 'POST',
    path: '/v1/chat/completions',
    model: 'chat',
    stream: false,
    tenant: undefined,
    priority: 'normal',
    upstream: 'a',
    attempts: 1,
    status: 200,
    code: 'ok',
    cache: 'miss',
    ms: 12.5,
    ttftMs: undefined,
    upstreamMs: 11,
    promptTokens: 3,
    completionTokens: 9,
    promptCacheHitTokens: 1,
    promptCacheMissTokens: 2,
  };
}

test('the access log writes one JSON line per request and rotates by size, keeping access_file_keep files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const log = new AccessLog({ path: file, maxSize: '1K', interval: null, keep: 2 }, createLogger('silent'));
  let i = 0;
  // Each line is ~300 bytes: a rotation every four lines. Write until three rotations happened (bounded).
  for (let rotations = 0; rotations < 3 && i < 200; rotations++) {
    const rotated = once(log.stream, 'rotated');
    for (let k = 0; k < 5; k++) log.write(rec(i++), 0);
    await rotated;
  }
  log.write(rec(i++), Date.UTC(2026, 10, 24, 3, 30));
  await log.close();
  const files = readdirSync(dir).sort();
  assert.deepEqual(
    files,
    ['access.log', 'access.log.1', 'access.log.2'],
    'the current file and access_file_keep rotated ones',
  );
  // Oldest first: the kept lines are consecutive requests ending with the last one written; nothing lost in between.
  const lines = ['access.log.2', 'access.log.1', 'access.log'].flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l !== ''),
  );
  const got = lines.map((l) => (JSON.parse(l) as RequestRecord).requestId);
  const first = Number(got[0]?.slice(4));
  assert.deepEqual(
    got,
    Array.from({ length: got.length }, (_, k) => `req-${first + k}`),
  );
  assert.equal(got.at(-1), `req-${i - 1}`);
  assert.ok(first > 0, 'the oldest lines were rotated out');
  const last = JSON.parse(lines.at(-1) ?? '{}') as RequestRecord;
  assert.equal(Object.keys(last)[0], 'time', 'the time comes first, once');
  assert.equal(last.time, '2026-11-24T03:30:00.000Z');
  assert.equal(last.ms, 12.5);
  for (const f of files)
    assert.ok(readFileSync(join(dir, f)).length <= 1024 + 400, `${f} stays near access_file_max_size`);
});

test('same() tells whether a reload can keep the open access log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-access-'));
  const settings = { path: join(dir, 'a.log'), maxSize: '10M', interval: '1d', keep: 3 };
  const log = new AccessLog(settings, createLogger('silent'));
  assert.equal(log.same({ ...settings }), true);
  assert.equal(log.same({ ...settings, keep: 4 }), false);
  assert.equal(log.same(null), false);
  return log.close().finally(() => rmSync(dir, { recursive: true, force: true }));
});
