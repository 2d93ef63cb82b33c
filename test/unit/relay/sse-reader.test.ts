import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseReader, eventsOf } from '../../../src/relay/sse-reader.ts';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { FakeClock } from '../../../src/clock.ts';
import type { OpenAttempt } from '../../../src/upstream/open-attempt.ts';
import { bodyOf } from '../../helpers/upstream-body.ts';

/** An attempt whose body is these chunks, on a stopped timer (only its counters are read). */
function attempt(chunks: string[]): OpenAttempt {
  const clock = new FakeClock();
  const timer = new AttemptTimer(
    () => clock.now(),
    { firstTokenMs: 1000, idleMs: 1000, totalMs: 1000 },
    Infinity,
    () => {},
  );
  timer.stop();
  return { body: bodyOf(chunks.map((c) => Buffer.from(c))), timer, error: (e: unknown) => e } as unknown as OpenAttempt;
}

async function readAll(r: SseReader): Promise<string[]> {
  const out: string[] = [];
  for (let b = await r.next(); b !== null; b = await r.next()) out.push(...eventsOf(b));
  return out;
}

test('comment-only events and stray blank lines are keep-alives: counted, and passed on only when asked', async () => {
  const chunks = [': keep-alive\n\n', '\n\n: ping\n: pong\n\n', 'data: {"a":1}\n\n', 'data: [DONE]\n\n'];
  const dropped = attempt(chunks);
  assert.deepEqual(await readAll(new SseReader(dropped, false)), ['data: {"a":1}', 'data: [DONE]']);
  assert.equal(dropped.timer.keepAlives, 3, 'two comment events and one blank line; the data events are none');
  const kept = attempt(chunks);
  assert.deepEqual(await readAll(new SseReader(kept, true)), [
    ': keep-alive',
    ': ping\n: pong',
    'data: {"a":1}',
    'data: [DONE]',
  ]);
});

test('a data event is never a keep-alive, however the chunks are cut', async () => {
  const a = attempt(['data: {"a"', ':1}\n', '\ndata: {"b":2}\n\n']);
  assert.deepEqual(await readAll(new SseReader(a, false)), ['data: {"a":1}', 'data: {"b":2}']);
  assert.equal(a.timer.keepAlives, 0);
});

test('an upstream that never ends an event is given up past 16 MiB, in byte mode and in text mode, not buffered forever', async () => {
  const mib = 'x'.repeat(1024 * 1024);
  for (const [mode, head] of [
    ['bytes', 'data: '],
    ['text', 'data: {"a":1}\r\n\r\ndata: '],
  ] as const) {
    const chunks = [head, ...Array.from({ length: 17 }, () => mib)];
    await assert.rejects(readAll(new SseReader(attempt(chunks), false)), /an SSE event over 16777216 bytes/, mode);
  }
});
