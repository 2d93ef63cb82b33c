import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SemanticIndex, type Partition } from '../../../src/cache/semantic-index.ts';
import { promptText, withoutPrompt } from '../../../src/cache/prompt-text.ts';

const P: Partition = { ns: 't:a', model: 'chat', shape: 's1' };

test('semantic index: the nearest vector above the threshold, by cosine (length does not matter)', async () => {
  const ix = new SemanticIndex(100);
  await ix.add(P, 'a', [1, 0, 0]);
  await ix.add(P, 'b', [0.8, 0.6, 0]);
  const rows: { q: number[]; threshold: number; want: string | undefined }[] = [
    { q: [10, 0, 0], threshold: 0.99, want: 'a' },
    { q: [0.8, 0.6, 0], threshold: 0.99, want: 'b' },
    { q: [0.9, 0.3, 0], threshold: 0.9, want: 'b' },
    { q: [0, 0, 1], threshold: 0.1, want: undefined },
    { q: [0, 0, 0], threshold: 0, want: undefined },
    { q: [1, 0], threshold: 0, want: undefined },
  ];
  for (const r of rows) assert.equal((await ix.nearest(P, r.q, r.threshold))?.hash, r.want, JSON.stringify(r));
});

test('semantic index: partitions (namespace, model, other fields) never answer for each other', async () => {
  const ix = new SemanticIndex(100);
  await ix.add(P, 'a', [1, 0]);
  for (const other of [
    { ...P, ns: 't:b' },
    { ...P, model: 'x' },
    { ...P, shape: 's2' },
  ])
    assert.equal(await ix.nearest(other, [1, 0], 0.5), undefined);
  assert.equal((await ix.nearest(P, [1, 0], 0.5))?.hash, 'a');
});

test('semantic index: bounded by count, the oldest forgotten first; delete forgets', async () => {
  const ix = new SemanticIndex(2);
  await ix.add(P, 'a', [1, 0, 0]);
  await ix.add(P, 'b', [0, 1, 0]);
  await ix.add(P, 'c', [0, 0, 1]);
  assert.equal(ix.size, 2);
  assert.equal(await ix.nearest(P, [1, 0, 0], 0.9), undefined, 'a forgotten');
  await ix.delete(P, 'b');
  assert.equal(await ix.nearest(P, [0, 1, 0], 0.9), undefined);
  assert.equal((await ix.nearest(P, [0, 0, 1], 0.9))?.hash, 'c');
});

test('prompt text: roles and text parts of chat messages; the prompt of completions', () => {
  assert.equal(
    promptText('chat', {
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi ' },
            { type: 'image_url', image_url: {} },
            { type: 'text', text: 'there' },
          ],
        },
      ],
    }),
    'system: Be brief.\nuser: Hi there',
  );
  assert.equal(promptText('completions', { prompt: 'Once' }), 'Once');
  assert.deepEqual(withoutPrompt({ messages: [], prompt: 'x', temperature: 0 }), { temperature: 0 });
});
