import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestLog, type RequestRecord } from '../../../src/observe/request-log.ts';

function rec(i: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    time: new Date(i * 1000).toISOString(),
    requestId: `r${i}`,
    method: 'POST',
    path: '/v1/chat/completions',
    model: 'chat',
    stream: false,
    tenant: undefined,
    priority: 'normal',
    upstream: i % 2 === 0 ? 'a' : 'b',
    attempts: 1,
    status: 200,
    code: 'ok',
    cache: undefined,
    ms: 10,
    ttftMs: undefined,
    upstreamMs: 9,
    promptTokens: 1,
    completionTokens: 2,
    promptCacheHitTokens: 1,
    promptCacheMissTokens: undefined,
    ...over,
  };
}
const ids = (rs: RequestRecord[]) => rs.map((r) => r.requestId);

test('the request log keeps only the newest N records, newest first', () => {
  const log = new RequestLog(3);
  for (let i = 1; i <= 5; i++) log.push(rec(i), i * 1000);
  assert.deepEqual(ids(log.recent({ limit: 10 })), ['r5', 'r4', 'r3']);
  assert.deepEqual(ids(log.recent({ limit: 2 })), ['r5', 'r4']);
});

test('the request log filters by upstream, code and errors', () => {
  const log = new RequestLog(10);
  for (let i = 1; i <= 6; i++)
    log.push(
      rec(i, i === 3 ? { status: 503, code: 'queue_full' } : i === 6 ? { status: 499, code: 'client_closed' } : {}),
      i * 1000,
    );
  assert.deepEqual(ids(log.recent({ limit: 10, upstream: 'a' })), ['r6', 'r4', 'r2']);
  assert.deepEqual(ids(log.recent({ limit: 10, code: 'queue_full' })), ['r3']);
  assert.deepEqual(ids(log.recent({ limit: 10, errors: true })), ['r6', 'r3']);
});

test('resizing the request log keeps the newest records; size 0 keeps none', () => {
  const log = new RequestLog(5);
  for (let i = 1; i <= 5; i++) log.push(rec(i), i * 1000);
  log.resize(2);
  assert.deepEqual(ids(log.recent({ limit: 10 })), ['r5', 'r4']);
  log.push(rec(6), 6 * 1000);
  assert.deepEqual(ids(log.recent({ limit: 10 })), ['r6', 'r5']);
  log.resize(4);
  log.push(rec(7), 7 * 1000);
  assert.deepEqual(ids(log.recent({ limit: 10 })), ['r7', 'r6', 'r5']);
  const none = new RequestLog(0);
  none.push(rec(1), 1 * 1000);
  assert.deepEqual(none.recent({ limit: 10 }), []);
});

test('a record reads back exactly as it was pushed, unset fields included', () => {
  const log = new RequestLog(2);
  const full = rec(7, { stream: true, tenant: 'acme', cache: 'hit', ttftMs: 3.5, status: 503, code: 'queue_full' });
  const sparse = rec(8, {
    stream: undefined,
    upstream: undefined,
    promptTokens: undefined,
    completionTokens: undefined,
  });
  log.push(full, 7000);
  log.push(sparse, 8000);
  assert.deepEqual(log.recent({ limit: 2 }), [sparse, full]);
});
