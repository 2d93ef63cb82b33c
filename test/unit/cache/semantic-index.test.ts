import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SemanticIndex } from '../../../src/cache/semantic-index.ts';
import { promptText, withoutPrompt } from '../../../src/cache/prompt-text.ts';

test('semantic index: the nearest vector above the threshold, by cosine (length does not matter)', () => {
  const ix = new SemanticIndex(100);
  ix.add('p', 'a', [1, 0, 0]);
  ix.add('p', 'b', [0.8, 0.6, 0]);
  const rows: { q: number[]; threshold: number; want: string | undefined }[] = [
    { q: [10, 0, 0], threshold: 0.99, want: 'a' },
    { q: [0.8, 0.6, 0], threshold: 0.99, want: 'b' },
    { q: [0.9, 0.3, 0], threshold: 0.9, want: 'b' },
    { q: [0, 0, 1], threshold: 0.1, want: undefined },
    { q: [0, 0, 0], threshold: 0, want: undefined },
  ];
  for (const r of rows) assert.equal(ix.nearest('p', r.q, r.threshold)?.hash, r.want, JSON.stringify(r));
});

test('semantic index: partitions never answer for each other', () => {
  const ix = new SemanticIndex(100);
  ix.add('tenant-a', 'a', [1, 0]);
  assert.equal(ix.nearest('tenant-b', [1, 0], 0.5), undefined);
  assert.equal(ix.nearest('tenant-a', [1, 0], 0.5)?.hash, 'a');
});

test('semantic index: bounded by count, the oldest forgotten first; delete forgets', () => {
  const ix = new SemanticIndex(2);
  ix.add('p', 'a', [1, 0, 0]);
  ix.add('p', 'b', [0, 1, 0]);
  ix.add('p', 'c', [0, 0, 1]);
  assert.equal(ix.size, 2);
  assert.equal(ix.nearest('p', [1, 0, 0], 0.9), undefined, 'a forgotten');
  ix.delete('p', 'b');
  assert.equal(ix.nearest('p', [0, 1, 0], 0.9), undefined);
  assert.equal(ix.nearest('p', [0, 0, 1], 0.9)?.hash, 'c');
});

test('prompt text: roles and text parts of chat messages; the prompt of completions', () => {
  assert.equal(promptText('chat', { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi ' }, { type: 'image_url', image_url: {} }, { type: 'text', text: 'there' }] }] }), 'system: Be brief.\nuser: Hi there');
  assert.equal(promptText('completions', { prompt: 'Once' }), 'Once');
  assert.deepEqual(withoutPrompt({ messages: [], prompt: 'x', temperature: 0 }), { temperature: 0 });
});
