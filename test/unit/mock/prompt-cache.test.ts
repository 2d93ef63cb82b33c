import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromptCache } from '../../../src/mock/prompt-cache.ts';
import { estimateTokens, promptText } from '../../../src/mock/answer-text.ts';

const sys = { role: 'system', content: 'You are a careful analyst of long financial reports.' };
const ask = (q: string) => ({ role: 'user', content: q });

test('the simulated context cache hits on the messages an earlier answer began with, whole messages at a time', () => {
  const c = new PromptCache();
  const tokens = (m: unknown[]) => estimateTokens(promptText({ messages: m }));
  const rows: [string, unknown[], number][] = [
    ['first request: all miss', [sys, ask('Summarise it.')], 0],
    ['same system prompt, new question: the system prompt hits', [sys, ask('List the risks.')], tokens([sys])],
    ['the same request again: all hit', [sys, ask('List the risks.')], tokens([sys, ask('List the risks.')])],
    ['a different start: all miss', [ask('List the risks.')], 0],
  ];
  for (const [name, messages, hit] of rows) {
    const r = c.answer(messages);
    assert.equal(r.hit, hit, name);
    assert.equal(r.hit + r.miss, tokens(messages), `${name}: hit + miss is the prompt`);
  }
});
