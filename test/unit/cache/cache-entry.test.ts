import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesPurge, parseEntry } from '../../../src/cache/cache-entry.ts';

const body = JSON.stringify({ id: 'x', choices: [{ index: 0, message: { content: 'hi' }, finish_reason: 'stop' }] });

test('an entry read from Redis is accepted only when it is a whole entry holding an answer', () => {
  const rows: { text: string; ok: boolean }[] = [
    { text: JSON.stringify({ body, usage: true, freshUntil: 1, staleUntil: 2 }), ok: true },
    { text: JSON.stringify({ body, freshUntil: 1 }), ok: false },
    { text: JSON.stringify({ body: '{"error":{}}', freshUntil: 1, staleUntil: 2 }), ok: false },
    { text: JSON.stringify({ body: 'not json', freshUntil: 1, staleUntil: 2 }), ok: false },
    { text: 'garbage', ok: false },
    // A Messages answer (the Messages door's passed-through requests are stored in their own form).
    {
      text: JSON.stringify({
        body: '{"type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn"}',
        freshUntil: 1,
        staleUntil: 2,
      }),
      ok: true,
    },
    {
      text: JSON.stringify({
        body: '{"type":"message","content":[],"stop_reason":null}',
        freshUntil: 1,
        staleUntil: 2,
      }),
      ok: false,
    },
  ];
  for (const r of rows) assert.equal(parseEntry(r.text) !== undefined, r.ok, r.text);
  assert.deepEqual(parseEntry(rows[0]!.text), { body, usage: true, freshUntil: 1, staleUntil: 2 });
});

test('purge filters: an absent field matches every value', () => {
  const k = { ns: 't:a', model: 'm', hash: 'h' };
  const rows: [Parameters<typeof matchesPurge>[1], boolean][] = [
    [{}, true],
    [{ model: 'm' }, true],
    [{ model: 'n' }, false],
    [{ ns: 't:a', model: 'm' }, true],
    [{ ns: 't:b' }, false],
  ];
  for (const [f, want] of rows) assert.equal(matchesPurge(k, f), want, JSON.stringify(f));
});
