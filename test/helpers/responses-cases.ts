import assert from 'node:assert/strict';
import { once } from 'node:events';
import OpenAI from 'openai';
import type { MockServer } from '../../src/mock/server.ts';

/** The function tool the Responses tests call: the mock answers it with `{ q: <its seeded text> }`. */
const LOOKUP_TOOL: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'lookup',
  parameters: { type: 'object', properties: { q: { type: 'string' } } },
  strict: false,
};

/** Streams a call of LOOKUP_TOOL: the arguments as their deltas added up, and the final response. */
export async function streamLookupCall(
  client: OpenAI,
  input: string,
  maxOutputTokens: number,
): Promise<{ args: string; done: OpenAI.Responses.Response | undefined }> {
  const stream = await client.responses.create({
    model: 'chat',
    input,
    tools: [LOOKUP_TOOL],
    stream: true,
    max_output_tokens: maxOutputTokens,
  });
  let args = '';
  let done: OpenAI.Responses.Response | undefined;
  for await (const e of stream) {
    if (e.type === 'response.function_call_arguments.delta') args += e.delta;
    if (e.type === 'response.completed' || e.type === 'response.incomplete') done = e.response;
  }
  return { args, done };
}

/**
 * Streams an answer the mock cuts after 3 tokens, and checks the SDK raises the gateway's in-band error for it.
 * Returns the text that came before, and every event type seen.
 */
export async function readCutStream(client: OpenAI, input: string): Promise<{ text: string; types: string[] }> {
  const stream = await client.responses.create({
    model: 'chat',
    input,
    stream: true,
    mock: { reset_after_tokens: 3 },
  } as OpenAI.Responses.ResponseCreateParamsStreaming);
  let text = '';
  const types: string[] = [];
  await assert.rejects(
    async () => {
      for await (const e of stream) {
        types.push(e.type);
        if (e.type === 'response.output_text.delta') text += e.delta;
      }
    },
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, `got ${String(e)}`);
      assert.match(e.message, /interrupted/);
      return true;
    },
  );
  return { text, types };
}

/**
 * Two identical Responses requests, the second sent once the first reached the mock: the first is the cache's miss,
 * the second joins its flight (`x-spillway-cache: coalesced`). Returns both answers.
 */
export async function coalescedPair(
  client: OpenAI,
  mock: MockServer,
  ask: OpenAI.Responses.ResponseCreateParamsNonStreaming,
): Promise<[OpenAI.Responses.Response, OpenAI.Responses.Response]> {
  const asked = once(mock.events, 'request');
  const leader = client.responses.create(ask).withResponse();
  await asked;
  const joiner = client.responses.create(ask).withResponse();
  const [a, b] = await Promise.all([leader, joiner]);
  assert.deepEqual(
    [a.response.headers.get('x-spillway-cache'), b.response.headers.get('x-spillway-cache')],
    ['miss', 'coalesced'],
  );
  return [a.data, b.data];
}
