import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';
import type { StatsPoint } from '../../src/admin/stats-sampler.ts';

test('a stats stream opened on a quiet gateway gets the whole recent history, then a frame every beat', async (t) => {
  const { gw, client } = await startStack(t, { statsIntervalMs: 40 });
  await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
  // Wait (on the sampler's own beats, bounded) until it has been quiet for a few beats: no registry reads then.
  const stats = gw.stats;
  const beat = stats.beat.bind(stats);
  const quiet = await new Promise<number>((resolve, reject) => {
    let seen = 0;
    let beats = 0;
    stats.beat = () => {
      const full = beat();
      if (full === undefined && ++seen === 5) resolve(beats);
      if (++beats > 2_000) reject(new Error('the sampler never went quiet'));
      return full;
    };
  });
  assert.ok(quiet > 0);

  const ac = new AbortController();
  t.after(() => ac.abort());
  const sse = await fetch(`${gw.url}/admin/stats/stream`, { signal: ac.signal });
  const reader = sse.body?.getReader();
  assert.ok(reader);
  const dec = new TextDecoder();
  let text = '';
  while ((text.match(/^event: frame$/gm) ?? []).length < 4) {
    const { value, done } = await reader.read();
    assert.equal(done, false);
    text += dec.decode(value);
  }
  ac.abort();
  const history = /^event: history\ndata: (.*)$/m.exec(text);
  const points = (JSON.parse(history?.[1] ?? '{}') as { points: StatsPoint[] }).points;
  assert.ok(
    points.some((p) => p.ok > 0),
    'the request is in the history',
  );
  const tail = points.slice(-5);
  assert.equal(tail.length, 5);
  assert.ok(
    tail.every((p) => p.rps === 0 && p.inFlight === 0 && p.capacity !== null),
    'quiet beats left their points',
  );
  assert.ok(new Set(points.map((p) => p.t)).size >= points.length - 1, 'one point a beat');
});
