import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offersTools, requestShape } from '../../../src/api/parse-call.ts';

test('which requests a grammar constrains: their own series of learned times', () => {
  const rows: { name: string; body: Record<string, unknown>; want: 'plain' | 'structured' }[] = [
    { name: 'a plain chat request', body: { messages: [] }, want: 'plain' },
    { name: 'response_format text', body: { response_format: { type: 'text' } }, want: 'plain' },
    { name: 'JSON mode', body: { response_format: { type: 'json_object' } }, want: 'structured' },
    { name: 'a JSON schema', body: { response_format: { type: 'json_schema', json_schema: {} } }, want: 'structured' },
    { name: "vLLM's guided_json", body: { guided_json: { type: 'object' } }, want: 'structured' },
    { name: "vLLM's guided_choice", body: { guided_choice: ['a', 'b'] }, want: 'structured' },
    { name: "vLLM's structured_outputs", body: { structured_outputs: { regex: 'a+' } }, want: 'structured' },
    { name: "SGLang's regex", body: { regex: '[0-9]+' }, want: 'structured' },
    { name: 'a null grammar field', body: { guided_json: null }, want: 'plain' },
    { name: 'a malformed response_format', body: { response_format: 'json' }, want: 'plain' },
  ];
  for (const r of rows) assert.equal(requestShape(r.body), r.want, r.name);
});

test('which requests offer the model tools it may call', () => {
  const tool = { type: 'function', function: { name: 'f' } };
  const rows: { name: string; body: Record<string, unknown>; want: boolean }[] = [
    { name: 'no tools', body: {}, want: false },
    { name: 'an empty list', body: { tools: [] }, want: false },
    { name: 'tools', body: { tools: [tool] }, want: true },
    { name: 'tools switched off', body: { tools: [tool], tool_choice: 'none' }, want: false },
    {
      name: 'a forced call',
      body: { tools: [tool], tool_choice: { type: 'function', function: { name: 'f' } } },
      want: true,
    },
    { name: 'legacy functions', body: { functions: [{ name: 'f' }] }, want: true },
    { name: 'legacy functions switched off', body: { functions: [{ name: 'f' }], function_call: 'none' }, want: false },
  ];
  for (const r of rows) assert.equal(offersTools(r.body), r.want, r.name);
});
