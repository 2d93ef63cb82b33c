import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerText, answerTokens, estimateTokens, promptText } from '../../../src/mock/answer-text.ts';

test('the same seed, prompt and length always give the same answer', () => {
  assert.deepEqual(answerTokens(1, 'hello', 12), answerTokens(1, 'hello', 12));
  assert.equal(answerText(7, 'x', 5), answerTokens(7, 'x', 5).join(''));
});

test('a different seed or prompt gives a different answer', () => {
  assert.notEqual(answerText(1, 'hello', 16), answerText(2, 'hello', 16));
  assert.notEqual(answerText(1, 'hello', 16), answerText(1, 'hello!', 16));
});

test('every token carries its index and all but the last end in a space', () => {
  const tokens = answerTokens(3, 'prompt', 20);
  assert.equal(tokens.length, 20);
  tokens.forEach((t, i) => {
    assert.match(t, new RegExp(`^t${i}-[a-z]+${i === 19 ? '$' : ' $'}`));
  });
});

test('a longer answer starts with the shorter one, so a resumed answer can be checked token by token', () => {
  assert.deepEqual(answerTokens(1, 'p', 30).slice(0, 9), answerTokens(1, 'p', 10).slice(0, 9));
});

test('the prompt of a chat is its message texts, string contents and text parts, one per line', () => {
  const body = {
    messages: [
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello ' },
          { type: 'image_url', image_url: { url: 'x' } },
          { type: 'text', text: 'world' },
        ],
      },
    ],
  };
  assert.equal(promptText(body), 'be brief\nhello world');
  assert.notEqual(
    promptText({ messages: [{ content: 'ab' }, { content: 'c' }] }),
    promptText({ messages: [{ content: 'a' }, { content: 'bc' }] }),
  );
});

test('the prompt of a completion is its prompt, arrays joined by lines', () => {
  assert.equal(promptText({ prompt: 'once upon' }), 'once upon');
  assert.equal(promptText({ prompt: ['a', 'b'] }), 'a\nb');
  assert.equal(promptText(null), '');
  assert.equal(promptText({}), '');
});

test('prompt tokens are estimated as a quarter of the characters, at least one', () => {
  assert.equal(estimateTokens(''), 1);
  assert.equal(estimateTokens('abcd'), 1);
  assert.equal(estimateTokens('abcde'), 2);
});
