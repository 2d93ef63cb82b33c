import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { FIRST_CHOICE, fixedUpstream, startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';
import { ADAPTIVE } from '../../src/upstream/adaptive-timeouts.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];

/**
 * A DeepSeek-like provider: answers its first `fastFor` streams at once, then holds every later one in its own
 * queue on `: keep-alive` comments, never starting the answer.
 */
function queueingProvider(fastFor: number) {
  let served = 0;
  return (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (served++ < fastFor) {
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: 'ds', object: 'chat.completion.chunk', model: 'chat', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.end(
        `${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'quick' })}${chunk({}, 'stop')}data: [DONE]\n\n`,
      );
      return;
    }
    const t = setInterval(() => res.write(': keep-alive\n\n'), 50);
    res.on('close', () => clearInterval(t));
  };
}

test('on defaults, a provider keeping a stream in its own queue beyond its normal TTFT is cut in time and served elsewhere', async (t) => {
  const ds = await fixedUpstream(t, queueingProvider(ADAPTIVE.minSamples));
  const { client, gw } = await startStack(t, {
    mocks: [{ ttftMs: 300 }],
    config: (urls) => ({
      upstreams: [
        { name: 'ds', url: `${ds.url}/v1` },
        { name: 'good', url: `${urls[0]}/v1` },
      ],
      models: {
        // Hedging would also rescue this request; it is off here so that the timeout alone is what is tested.
        chat: { routes: [{ upstream: 'ds' }, { upstream: 'good' }], hedge: null },
        // Single-route names for the warm-up (same upstream model, so the same learned series and latency).
        'via-ds': { routes: [{ upstream: 'ds', model: 'chat' }] },
        'via-good': { routes: [{ upstream: 'good', model: 'chat' }] },
      },
    }),
  });
  const run = async (model: string) => {
    const s = await client.chat.completions.create({ model, messages, max_tokens: 5, stream: true });
    for await (const c of s) void c;
  };
  // Warm up: the provider shows its normal, fast time to first token (and is the faster one, so it is picked).
  for (let i = 0; i < ADAPTIVE.minSamples; i++) await run('via-ds');
  await run('via-good');
  assert.equal(ds.hits(), ADAPTIVE.minSamples);
  const started = performance.now();
  const s = await client.chat.completions.create(
    { model: 'chat', messages, max_tokens: 5, stream: true },
    { headers: { 'x-spillway-deadline-ms': '30000' } },
  );
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta.content ?? '';
  const tookMs = performance.now() - started;
  assert.equal(text, answerText(1, 'hi', 5));
  // Learned p99 is a few ms, so the cut is the floor: far sooner than half the deadline (15 s) or the cold 60 s.
  assert.ok(tookMs < ADAPTIVE.firstTokenFloorMs + 2_000, `served after ${Math.round(tookMs)} ms`);
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    m,
    /spillway_upstream_attempts_total\{upstream="ds",outcome="overloaded"\} 1/,
    'the queueing provider is pushback, not a stall',
  );
  // What auto chose is visible: the floor for ds's fast first token; good, with one answer, still the cold values.
  assert.match(
    m,
    new RegExp(
      `spillway_upstream_timeout_seconds\\{upstream="ds",model="chat",mode="stream",phase="first_token"\\} ${ADAPTIVE.firstTokenFloorMs / 1000}\n`,
    ),
  );
  assert.match(
    m,
    new RegExp(
      `spillway_upstream_timeout_seconds\\{upstream="good",model="chat",mode="stream",phase="first_token"\\} ${ADAPTIVE.coldStreamFirstTokenMs / 1000}\n`,
    ),
  );
});

test('a pinned first_token wins over what the upstream shows', async (t) => {
  const ds = await fixedUpstream(t, queueingProvider(0));
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'ds', url: `${ds.url}/v1`, weight: FIRST_CHOICE, timeouts: { first_token: '300ms' } },
        { name: 'good', url: `${urls[0]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'ds' }, { upstream: 'good' }], hedge: null } },
    }),
  });
  const started = performance.now();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages, max_tokens: 5, stream: true }),
  });
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  assert.ok(
    performance.now() - started < ADAPTIVE.firstTokenFloorMs,
    'cut at the pinned 300 ms, under the adaptive floor',
  );
  assert.equal(res.headers.get('x-spillway-upstream'), 'good');
});

/** One chunk of a chat stream. */
function sseChunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'chat', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

/** Answers a stream with `content` after `ms` (its first token's wait), unless the client left first. */
function answerAfter(res: ServerResponse, ms: number, content: string, onAnswer?: () => void): void {
  const timer = setTimeout(() => {
    onAnswer?.();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`${sseChunk({ role: 'assistant', content })}${sseChunk({}, 'stop')}data: [DONE]\n\n`);
  }, ms);
  res.on('close', () => clearTimeout(timer));
}

/** A gateway on defaults in front of one upstream `u` (with `extra` settings on it). */
function oneUpstream(t: TestContext, url: string, extra: Record<string, unknown> = {}) {
  return startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: `${url}/v1`, ...extra }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
    }),
  });
}

type StreamParams = Omit<ChatCompletionCreateParamsStreaming, 'model' | 'stream'>;

/** A stream read to its end: its text, the tool calls it named, and the attempts the gateway made. */
async function streamOf(client: OpenAI, params: StreamParams = { messages }) {
  const { data, response } = await client.chat.completions
    .create({ model: 'chat', stream: true, ...params })
    .withResponse();
  let text = '';
  const calls: string[] = [];
  for await (const c of data) {
    text += c.choices[0]?.delta.content ?? '';
    for (const tc of c.choices[0]?.delta.tool_calls ?? []) calls.push(tc.function?.name ?? '');
  }
  return { text, calls, attempts: response.headers.get('x-spillway-attempts') };
}

/** Enough plain, short streams for the adaptive timeouts to learn from. */
async function warmUp(client: OpenAI): Promise<void> {
  for (let i = 0; i < ADAPTIVE.minSamples; i++)
    await streamOf(client, { messages: [{ role: 'user', content: `q${i}` }] });
}

test('on defaults, a prompt far longer than those the first-token timeout was learned on is not cut for its prefill', async (t) => {
  // An upstream whose first token takes 150 ms for a short prompt and 3.5 s (its prefill) for one of 25k tokens:
  // above the 3 s floor the short prompts teach, so without the prompt's size the long one was cut on every attempt.
  const upstream = await fixedUpstream(t, (_req, res, body) =>
    answerAfter(res, body.length > 50_000 ? 3_500 : 150, 'read it'),
  );
  const { client } = await oneUpstream(t, upstream.url);
  await warmUp(client);
  const long = await streamOf(client, { messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
  assert.deepEqual([long.text, long.attempts], ['read it', '1']);
  assert.equal(upstream.hits(), ADAPTIVE.minSamples + 1, 'one prefill of the long prompt, no retry, no hedge');
});

test('on defaults, a non-stream answer far longer than the recent ones is not cut at their p99', async (t) => {
  // Twenty answers of 10 tokens (~0.15 s each), then one allowed 400 (~4 s): above the 3 s floor their p99 teaches.
  const { client, mocks } = await startStack(t, { mocks: [{ ttftMs: 50, tokenMs: 10 }] });
  for (let i = 0; i < ADAPTIVE.minSamples; i++)
    await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: `q${i}` }],
      max_tokens: 10,
    });
  const { data, response } = await client.chat.completions
    .create({ model: 'chat', messages, max_tokens: 400 })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, answerText(1, 'hi', 400));
  assert.equal(response.headers.get('x-spillway-attempts'), '1');
  assert.equal(mocks[0]!.stats().received, ADAPTIVE.minSamples + 1, 'one generation of the long answer, no retry');
});

test('an upstream quiet long enough to have unloaded its model gets the cold first-token timeout, not the warm one', async (t) => {
  // Ollama unloads a model after 5 minutes idle; here "a while" is shortened to 1 s for the test (restored after).
  const settings = ADAPTIVE as { staleAfterMs: number };
  const staleAfterMs = settings.staleAfterMs;
  settings.staleAfterMs = 1_000;
  t.after(() => (settings.staleAfterMs = staleAfterMs));
  let lastAt = Date.now();
  // The model loads (3.5 s) when nothing came for over a second; warm, the first token takes 100 ms.
  const upstream = await fixedUpstream(t, (_req, res) =>
    answerAfter(res, Date.now() - lastAt > 1_000 ? 3_500 : 100, 'ready', () => (lastAt = Date.now())),
  );
  const { client } = await oneUpstream(t, upstream.url);
  lastAt = Date.now();
  await warmUp(client);
  // Idle: the behaviour under test is what a quiet second does.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const after = await streamOf(client);
  assert.deepEqual([after.text, after.attempts], ['ready', '1'], 'one attempt, waited out as the model loaded');
  assert.equal(upstream.hits(), ADAPTIVE.minSamples + 1);
});

test('on defaults, a stream that offers tools is not cut while the engine writes a tool call whole', async (t) => {
  // A vLLM (continued exactly if cut: the 0.5 s idle floor, 2 s while the whole upstream is quiet) whose plain
  // answers stream every few ms, and whose tool calls are held until complete (3 s of silence), as some parsers do.
  const upstream = await fixedUpstream(t, (_req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(sseChunk({ role: 'assistant', content: 'ok' }));
    const call = { index: 0, id: 'c1', type: 'function', function: { name: 'write_file', arguments: '{"path":"a"}' } };
    const withTools = (JSON.parse(body) as { tools?: unknown }).tools !== undefined;
    const end = withTools
      ? `${sseChunk({ tool_calls: [call] })}${sseChunk({}, 'tool_calls')}data: [DONE]\n\n`
      : `${sseChunk({ content: '.' })}${sseChunk({}, 'stop')}data: [DONE]\n\n`;
    const timer = setTimeout(() => res.end(end), withTools ? 3_000 : 5);
    res.on('close', () => clearTimeout(timer));
  });
  const { client } = await oneUpstream(t, upstream.url, { kind: 'vllm' });
  await warmUp(client);
  const tools = [{ type: 'function' as const, function: { name: 'write_file', parameters: { type: 'object' } } }];
  const withTools = await streamOf(client, { messages, tools });
  assert.deepEqual([withTools.calls, withTools.attempts], [['write_file'], '1']);
  assert.equal(upstream.hits(), ADAPTIVE.minSamples + 1, 'one generation of the call');
});

test("on defaults, the first structured-output request is not cut at the plain answers' first-token timeout", async (t) => {
  // An engine whose plain answers start in 100 ms and which compiles a JSON schema's grammar (3.5 s) before a
  // structured answer's first token: above the 3 s floor the plain answers teach.
  const upstream = await fixedUpstream(t, (_req, res, body) => {
    const structured = (JSON.parse(body) as { response_format?: unknown }).response_format !== undefined;
    answerAfter(res, structured ? 3_500 : 100, structured ? '{"a":1}' : 'ok');
  });
  const { client } = await oneUpstream(t, upstream.url);
  await warmUp(client);
  const schema = { name: 'a', schema: { type: 'object', properties: { a: { type: 'integer' } } } };
  const structured = await streamOf(client, {
    messages,
    response_format: { type: 'json_schema', json_schema: schema },
  });
  assert.deepEqual([structured.text, structured.attempts], ['{"a":1}', '1']);
  assert.equal(upstream.hits(), ADAPTIVE.minSamples + 1, 'one compile, one answer');
});

/**
 * An engine that reads a new prompt between its decode steps (llama.cpp or Ollama on a CPU, SGLang without mixed
 * chunks): while a long prompt is read, every stream in flight pauses. Short prompts are read at once; a stream
 * writes one token every 20 ms while no prompt is being read, `tokens` of them (its `max_tokens`).
 */
function pausingEngine(pauseMs: number) {
  let readingUntil = 0;
  return (_req: unknown, res: ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (body.length > 50_000) {
      readingUntil = Date.now() + pauseMs;
      answerAfterReading(res, pauseMs);
      return;
    }
    const tokens = (JSON.parse(body) as { max_tokens?: number }).max_tokens ?? 3;
    let sent = 0;
    const tick = setInterval(() => {
      if (Date.now() < readingUntil) return;
      res.write(sseChunk(sent === 0 ? { role: 'assistant', content: 't0' } : { content: ` t${sent}` }));
      if (++sent < tokens) return;
      clearInterval(tick);
      res.end(`${sseChunk({}, 'stop')}data: [DONE]\n\n`);
    }, 20);
    res.on('close', () => clearInterval(tick));
  };
}

/** The long prompt's answer, once it is read. */
function answerAfterReading(res: ServerResponse, ms: number): void {
  const timer = setTimeout(
    () => res.end(`${sseChunk({ role: 'assistant', content: 'read it' })}${sseChunk({}, 'stop')}data: [DONE]\n\n`),
    ms,
  );
  res.on('close', () => clearTimeout(timer));
}

for (const kind of ['openai', 'vllm'] as const)
  test(`on defaults, a long prompt that pauses every stream of its engine cuts none of them (${kind})`, async (t) => {
    // The pause outlasts the 5 s idle floor (and the 2 s floor of a whole-upstream silence where a cut stream would
    // be continued exactly, on a vLLM); the streams' learned gaps are ~20 ms. Cut, a stream without an exact
    // continuation ended in an in-band error, and one with it was continued into the same pause, again and again.
    const pauseMs = ADAPTIVE.idleFloorMs + 1_000;
    const upstream = await fixedUpstream(t, pausingEngine(pauseMs));
    const { client } = await oneUpstream(t, upstream.url, { kind });
    await warmUp(client);
    const { data, response } = await client.chat.completions
      .create({ model: 'chat', messages, max_tokens: 40, stream: true })
      .withResponse();
    const chunks = data[Symbol.asyncIterator]();
    let text = (await chunks.next()).value?.choices[0]?.delta.content ?? '';
    // The long prompt arrives while the stream is under way.
    const long = streamOf(client, { messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
    for (let c = await chunks.next(); c.done !== true; c = await chunks.next())
      text += c.value.choices[0]?.delta.content ?? '';
    assert.equal(text, Array.from({ length: 40 }, (_, i) => `t${i}`).join(' '));
    assert.equal(response.headers.get('x-spillway-attempts'), '1', 'never cut, so never continued');
    assert.deepEqual(Object.values(await long).slice(0, 1), ['read it']);
    assert.equal(upstream.hits(), ADAPTIVE.minSamples + 2, 'one generation each');
  });

test('on defaults, a request waiting its turn in a self-hosted engine’s own queue is not cut for it', async (t) => {
  // An engine with two slots that queues the rest without a word (vLLM, SGLang, Ollama: no 503, no keep-alive), and
  // no max_concurrency in the config. Its first tokens come in 50 ms when it is free, so the first-token timeout is
  // the 3 s floor; twelve streams of ~1 s sent at once keep the last ones queued for ~5 s. Cut at 3 s, each lost its
  // place and queued again at the back (a direct client waited and got every answer).
  const { client, mocks } = await startStack(t, {
    mocks: [{ slots: 2, queueSize: 100, keepAliveMs: 0, queueTimeoutMs: 60_000, ttftMs: 50, tokenMs: 20 }],
  });
  await warmUp(client);
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      streamOf(client, { messages: [{ role: 'user', content: `w${i}` }], max_tokens: 50 }),
    ),
  );
  answers.forEach((a, i) => assert.equal(a.text, answerText(1, `w${i}`, 50)));
  assert.deepEqual(
    answers.map((a) => a.attempts),
    answers.map(() => '1'),
    'each waited its turn once',
  );
  assert.equal(mocks[0]!.stats().received, ADAPTIVE.minSamples + 12);
});
