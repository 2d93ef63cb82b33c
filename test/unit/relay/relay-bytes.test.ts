import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awaitFirstData, relayStream } from '../../../src/relay/relay-sse.ts';
import { SseReader } from '../../../src/relay/sse-reader.ts';
import { modelRewriter } from '../../../src/relay/rewrite-model.ts';
import { usageOf } from '../../../src/relay/usage.ts';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { FakeClock } from '../../../src/clock.ts';
import type { OpenAttempt } from '../../../src/upstream/open-attempt.ts';
import { bodyOf } from '../../helpers/upstream-body.ts';
import type { RequestContext, Usage } from '../../../src/server/context.ts';
import type { Outcome } from '../../../src/upstream/outcome.ts';

/** The part of a ServerResponse the relay uses, recording what reaches the client. */
class Recorded {
  text = '';
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  statusCode = 0;
  setHeader(): void {}
  flushHeaders(): void {
    this.headersSent = true;
  }
  write(chunk: string | Buffer): boolean {
    this.text += chunk.toString();
    return true;
  }
  end(chunk?: string | Buffer): void {
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = true;
  }
  cork(): void {}
  uncork(): void {}
  on(): void {}
  off(): void {}
}

async function relay(
  chunks: Buffer[],
  rewrite?: (t: string) => string,
): Promise<{ text: string; usage: Usage | undefined; outcome: Outcome; keepAlives: number }> {
  const clock = new FakeClock();
  const timer = new AttemptTimer(
    () => clock.now(),
    { firstTokenMs: 1000, idleMs: 1000, totalMs: 1000 },
    Infinity,
    () => {},
  );
  timer.stop();
  const att = { body: bodyOf(chunks), timer, error: (e: unknown) => e } as unknown as OpenAttempt;
  const res = new Recorded();
  const ctx = {
    res,
    clientGone: new AbortController().signal,
    startedAt: 0,
    ttftMs: undefined,
    usage: undefined,
    settled: false,
  } as unknown as RequestContext;
  const reader = new SseReader(att, false);
  const first = await awaitFirstData(ctx, reader);
  if (!first.ok) return { text: res.text, usage: ctx.usage, outcome: first.outcome, keepAlives: timer.keepAlives };
  const r = await relayStream(
    ctx,
    reader,
    att,
    first.events,
    { rewrite, track: undefined, continuing: undefined },
    clock,
  );
  return { text: res.text, usage: ctx.usage, outcome: r.outcome, keepAlives: timer.keepAlives };
}

/**
 * What the relay promises, event by event: every event up to and including `[DONE]` reaches the client as the
 * upstream sent it (line ends as LF), except keep-alive comments and blank lines; `model` renamed when asked; the
 * first usage object is the request's usage.
 */
function reference(stream: string, rewrite?: (t: string) => string): { text: string; usage: Usage | undefined } {
  let text = '';
  let usage: Usage | undefined;
  for (const raw of stream.replace(/\r\n?/g, '\n').split('\n\n').slice(0, -1)) {
    const ev = raw.replace(/^\n+/, '');
    if (ev === '' || ev.split('\n').every((l) => l.startsWith(':'))) continue;
    const out = rewrite === undefined ? ev : rewrite(ev);
    const data = /^data: ?(.*)$/m.exec(out)?.[1];
    if (usage === undefined && data !== undefined && /"usage"\s*:\s*\{/.test(data)) usage = usageOf(JSON.parse(data));
    text += `${out}\n\n`;
    if (data === '[DONE]') break;
  }
  return { text, usage };
}

const chunk = (delta: object, extra = ''): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"up-model","choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":null}]${extra}}\n\n`;
const usage = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}\n\n';

const STREAMS: Record<string, string> = {
  'plain answer':
    chunk({ role: 'assistant', content: '' }) +
    chunk({ content: 'Hello' }) +
    chunk({ content: ' world' }) +
    usage +
    'data: [DONE]\n\n',
  'multi-byte text':
    chunk({ role: 'assistant', content: '' }) +
    chunk({ content: 'héllo ✓ 中文 🙂' }) +
    chunk({ content: 'ñ' }) +
    usage +
    'data: [DONE]\n\n',
  'keep-alives before and between events':
    ': keep-alive\n\n\n\n' +
    chunk({ role: 'assistant', content: '' }) +
    ': keep-alive\n\n' +
    chunk({ content: 'a' }) +
    '\n' +
    chunk({ content: 'b' }) +
    'data: [DONE]\n\n',
  'CRLF line ends': (
    chunk({ role: 'assistant', content: '' }) +
    chunk({ content: 'x' }) +
    usage +
    'data: [DONE]\n\n'
  ).replace(/\n/g, '\r\n'),
  '"usage":null on every chunk, the object last':
    chunk({ content: 'a' }, ',"usage":null') + chunk({ content: 'b' }, ',"usage": null') + usage + 'data: [DONE]\n\n',
  'text that looks like markers':
    chunk({ content: 'say [DONE] and "error" and "usage":{}' }) +
    chunk({ content: '\\"error\\": {}' }) +
    'data:[DONE]\n\n',
  'a comment line inside a data event':
    `: note\n${chunk({ content: 'a' })}` +
    `data: {"id":"c1","choices":[{"delta":{"content":"b"}}]}\n: trailing\n\n` +
    'data: [DONE]\n\n',
  'events after [DONE] are not relayed': chunk({ content: 'a' }) + 'data: [DONE]\n\n' + chunk({ content: 'late' }),
};

/** The stream cut every way that matters: whole, at every byte into two chunks, and byte by byte. */
function cuts(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

test('the byte relay sends exactly what the event-by-event rule says, however the upstream cuts its chunks', async () => {
  for (const [name, stream] of Object.entries(STREAMS)) {
    for (const rewrite of [undefined, modelRewriter('up-model', 'public-model')]) {
      const want = reference(stream, rewrite);
      for (const chunks of cuts(Buffer.from(stream))) {
        const got = await relay(chunks, rewrite);
        const label = `${name}${rewrite === undefined ? '' : ' (model renamed)'}, ${chunks.length} chunk(s)`;
        assert.equal(got.outcome.kind, 'ok', label);
        assert.equal(got.text, want.text, label);
        assert.deepEqual(got.usage, want.usage, label);
      }
    }
  }
});

test('an error event mid-stream ends the relay as a server error and is never relayed', async () => {
  const stream =
    chunk({ role: 'assistant', content: '' }) +
    chunk({ content: 'a' }) +
    'data: {"error":{"message":"overloaded"}}\n\n' +
    chunk({ content: 'b' }) +
    'data: [DONE]\n\n';
  for (const chunks of cuts(Buffer.from(stream))) {
    const got = await relay(chunks);
    assert.equal(got.outcome.kind, 'server_error', `${chunks.length} chunk(s)`);
    assert.ok(!got.text.includes('error') && !got.text.includes('[DONE]'), got.text);
  }
});

test('keep-alive comments are counted, not relayed, in byte mode as in text mode', async () => {
  const stream = ': keep-alive\n\n: keep-alive\n\n' + chunk({ content: 'a' }) + 'data: [DONE]\n\n';
  for (const s of [stream, stream.replace(/\n/g, '\r\n')]) {
    const got = await relay([Buffer.from(s)]);
    assert.equal(got.keepAlives, 2);
    assert.equal(got.text, chunk({ content: 'a' }) + 'data: [DONE]\n\n');
  }
});

test('role-only openings are held, then relayed whole with what follows, in one read or cut across reads', async () => {
  const opening = chunk({ role: 'assistant', content: '' });
  for (const held of [1, 3, 70]) {
    // 70 is past the held limit (64): the openings are let through anyway, every one of them, in order.
    const stream = opening.repeat(held) + chunk({ content: 'a' }) + usage + 'data: [DONE]\n\n';
    const want = reference(stream);
    const bytes = Buffer.from(stream);
    const at = [1, opening.length, opening.length + 5, Math.floor(bytes.length / 2), bytes.length - 3];
    for (const chunks of [[bytes], ...at.map((i) => [bytes.subarray(0, i), bytes.subarray(i)])]) {
      const got = await relay(chunks);
      const label = `${held} opening(s), ${chunks.map((c) => c.length).join('+')} bytes`;
      assert.equal(got.outcome.kind, 'ok', label);
      assert.equal(got.text, want.text, label);
      assert.deepEqual(got.usage, want.usage, label);
    }
  }
});
