import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';
import { isOpenAIError, rawRequest } from '../helpers/raw-http.ts';

const CASES: [string, string, number, string][] = [
  ['a garbage request line', 'GARBAGE\r\n\r\n', 400, 'invalid_request'],
  ['an unknown method', 'FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'invalid_request'],
  [
    'a header without a colon',
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBroken header\r\n\r\n',
    400,
    'invalid_request',
  ],
  [
    'a non-numeric content-length',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n',
    400,
    'invalid_request',
  ],
  [
    'a bad chunk size',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    400,
    'invalid_request',
  ],
  ['HTTP/2.0 on an HTTP/1 port', 'GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n', 400, 'invalid_request'],
  [
    'headers over the size limit',
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431,
    'headers_too_large',
  ],
];

test("malformed HTTP gets an OpenAI-style JSON error, not Node's bare 400", async (t) => {
  const { gw } = await startStack(t);
  for (const [name, bytes, status, code] of CASES) {
    const a = await rawRequest(gw.port, bytes);
    assert.equal(a.status, status, `${name}: ${a.raw}`);
    assert.ok(isOpenAIError(a.body), `${name}: ${a.body}`);
    assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, code, name);
    assert.equal(a.headers.connection, 'close', name);
  }
  assert.ok(gw.http.server.requestTimeout > 0, 'requestTimeout is set');
  assert.ok(gw.http.server.headersTimeout > 0, 'headersTimeout is set');
});

/** One upstream and its model, with at most `n` client connections open. */
function cappedAt(n: number, urls: string[]): Record<string, unknown> {
  return {
    server: { max_connections: n },
    upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
    models: { chat: { routes: [{ upstream: 'm' }] } },
  };
}

async function openIdle(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  // One request, so the server has certainly accepted it, then the connection stays open (keep-alive).
  s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await once(s, 'data');
  return s;
}

test('a connection beyond server.max_connections gets a JSON 503 with Retry-After as it arrives, and is counted', async (t) => {
  const { gw } = await startStack(t, { config: (urls) => cappedAt(2, urls) });
  const held = [await openIdle(gw.port), await openIdle(gw.port)];
  t.after(() => held.forEach((s) => s.destroy()));
  const refused = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', {
    timeoutMs: 5_000,
  });
  assert.equal(refused.status, 503, refused.raw);
  assert.ok(isOpenAIError(refused.body), refused.body);
  assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'too_many_connections');
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(refused.headers.connection, 'close');
  // Only one answer: the request read off the refused connection was not served as well.
  assert.equal(refused.raw.split('HTTP/1.1').length, 2, refused.raw);
  const text = await gw.metrics.registry.getSingleMetricAsString('spillway_connections_dropped_total');
  assert.match(text, /spillway_connections_dropped_total 1/);
  held[0]?.destroy();
  await once(held[0] as Socket, 'close');
  // The server sees the close a moment later; a bounded retry waits for it.
  let ok = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  for (let i = 0; i < 50 && ok.status !== 200; i++)
    ok = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(ok.status, 200);
});

test('a refused connection that never closes is let go after its linger, and meanwhile a flood beyond twice the cap is dropped unanswered', async (t) => {
  const { gw } = await startStack(t, { config: (urls) => cappedAt(1, urls) });
  const held = await openIdle(gw.port);
  t.after(() => held.destroy());
  // A client that reads the 503 but keeps its own end open.
  const lingering = connect({ port: gw.port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => lingering.destroy());
  const chunks: Buffer[] = [];
  lingering.on('data', (c: Buffer) => chunks.push(c));
  await once(lingering, 'end');
  assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 503 /);
  // While it lingers, the next one over the cap is dropped without an answer (at most twice the cap in sockets).
  const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const dropped = await rawRequest(gw.port, request, { timeoutMs: 5_000 });
  assert.equal(dropped.empty, true, dropped.raw);
  // Once the gateway has let the lingering one go, a connection over the cap is answered again.
  let answered = await rawRequest(gw.port, request, { timeoutMs: 5_000 });
  for (let i = 0; i < 60 && answered.status !== 503; i++) {
    await delay(50);
    answered = await rawRequest(gw.port, request, { timeoutMs: 5_000 });
  }
  assert.equal(answered.status, 503, answered.raw);
  const text = await gw.metrics.registry.getSingleMetricAsString('spillway_connections_dropped_total');
  assert.match(text, /spillway_connections_dropped_total \d+/);
});

test('an upload trickling in faster than body_timeout is cut by server.upload_timeout with a JSON 408', async (t) => {
  const dataDir = tempDataDir(t);
  const { gw } = await startStack(t, {
    config: (urls) =>
      jobsConfig(urls, { data_dir: dataDir }, { server: { body_timeout: '10s', upload_timeout: '400ms' } }),
  });
  const B = 'drip';
  const form = `--${B}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n${'x'.repeat(200)}\r\n--${B}--\r\n`;
  const head = `POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${form.length}\r\n\r\n`;
  const a = await rawRequest(gw.port, [head, ...(form.match(/.{1,4}/gs) ?? [])], { gapMs: 25, timeoutMs: 10_000 });
  assert.equal(a.status, 408, a.raw);
  assert.ok(isOpenAIError(a.body));
  assert.match(a.body, /server\.upload_timeout/);
});
