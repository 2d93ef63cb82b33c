import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindFromModels, kindFromUrl } from '../../../src/upstream/upstream-kind.ts';

test('the URL tells DeepSeek and Ollama, and nothing else', () => {
  const cases: [string, string | undefined][] = [
    ['https://api.deepseek.com', 'deepseek'],
    ['https://api.deepseek.com/beta', 'deepseek'],
    ['https://API.DeepSeek.com/v1', 'deepseek'],
    ['https://eu.api.deepseek.com', 'deepseek'],
    ['https://deepseek.com.evil.example', undefined],
    ['http://127.0.0.1:11434/v1', 'ollama'],
    ['http://ollama:8080/v1', 'ollama'],
    ['http://my-ollama-box.lan/v1', 'ollama'],
    ['http://10.0.0.5:8000/v1', undefined],
    ['http://10.0.0.5:30000/v1', undefined],
    ['https://api.openai.com/v1', undefined],
    ['not a url', undefined],
  ];
  for (const [url, kind] of cases) assert.equal(kindFromUrl(url), kind, url);
});

test('a model listing tells the server by the owned_by it writes for itself', () => {
  const list = (...owners: unknown[]) => ({
    object: 'list',
    data: owners.map((o, i) => ({ id: `m${i}`, object: 'model', owned_by: o })),
  });
  const cases: [unknown, string | undefined, string][] = [
    [list('vllm'), 'vllm', 'vLLM'],
    [
      {
        object: 'list',
        data: [
          {
            id: 'facebook/opt-125m',
            object: 'model',
            owned_by: 'vllm',
            root: 'facebook/opt-125m',
            max_model_len: 2048,
            permission: [],
          },
        ],
      },
      'vllm',
      'vLLM, full card',
    ],
    [list('sglang'), 'sglang', 'SGLang'],
    [list('deepseek', 'deepseek'), 'deepseek', 'DeepSeek'],
    [list('library', 'library'), 'ollama', 'Ollama official models'],
    [list('library', 'someuser'), 'ollama', 'Ollama with a user model'],
    [list('openai', 'system'), undefined, 'OpenAI itself'],
    [list('vllm', 'sglang'), undefined, 'a proxy in front of two kinds'],
    [list(), undefined, 'empty listing'],
    [list(42, null), undefined, 'owned_by not a string'],
    [list('constructor'), undefined, 'a prototype key is not a kind'],
    [{ data: 'x' }, undefined, 'data not a list'],
    [[], undefined, 'not an object'],
    [null, undefined, 'null'],
  ];
  for (const [listing, kind, why] of cases) assert.equal(kindFromModels(listing), kind, why);
});
