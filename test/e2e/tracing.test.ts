import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { Writable } from 'node:stream';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import { fixedUpstream, LogCapture } from '../helpers/stack.ts';

/** One span as an OTLP/HTTP JSON export carries it (ids in hex, attributes as typed values). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/** An OTLP/HTTP collector on 127.0.0.1:0 that keeps every span it receives, with the export's headers. */
async function otlpReceiver(t: TestContext) {
  const spans: (OtlpSpan & { service: string })[] = [];
  const exportHeaders: IncomingHttpHeaders[] = [];
  const events = new EventEmitter();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      assert.equal(req.url, '/v1/traces');
      assert.match(req.headers['content-type'] ?? '', /application\/json/);
      exportHeaders.push(req.headers);
      const payload = JSON.parse(body) as {
        resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of payload.resourceSpans) {
        const service = String(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue);
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      events.emit('spans');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    exportHeaders,
    /** Resolves once `pred` holds for the spans received so far (checked on every export). */
    until(pred: (s: typeof spans) => boolean): Promise<void> {
      if (pred(spans)) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => {
          if (!pred(spans)) return;
          events.off('spans', check);
          resolve();
        };
        events.on('spans', check);
      });
    },
  };
}

function attr(s: OtlpSpan, key: string): unknown {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  return v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.boolValue;
}

const CHAT_ANSWER = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  created: 1,
  model: 'up-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

/** An upstream that records each request's path and headers; the first answer is 503 (busy), the rest succeed. */
async function recordingUpstream(t: TestContext, opts: { failFirst: boolean }) {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const up = await fixedUpstream(t, (req, res, body) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (opts.failFirst && seen.length === 1) {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"error":{"message":"Server busy, please try again later"}}');
      return;
    }
    if ((JSON.parse(body) as { stream?: boolean }).stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] })}\n\n`,
      );
      res.write(
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(CHAT_ANSWER);
  });
  return { ...up, seen };
}

/**
 * A gateway with two routes to `upstreamUrl` (upstreams a and b). Spans are batched for 5 ms unless `batchDefault`
 * keeps the SDK's delay. `stop()` shuts it down from the test; otherwise the cleanup does.
 */
async function gateway(
  t: TestContext,
  upstreamUrl: string,
  tracing: Record<string, unknown> | undefined,
  opts: { log?: Writable; batchDefault?: boolean; auth?: unknown; tenants?: unknown } = {},
): Promise<Gateway & { stop(): Promise<boolean> }> {
  const config = resolveConfig(
    {
      log: { requests: false },
      ...(opts.auth === undefined ? {} : { auth: opts.auth }),
      ...(opts.tenants === undefined ? {} : { tenants: opts.tenants }),
      upstreams: [
        { name: 'a', url: `${upstreamUrl}/a` },
        { name: 'b', url: `${upstreamUrl}/b` },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'a', model: 'up-model' },
            { upstream: 'b', model: 'up-model' },
          ],
        },
      },
      ...(tracing === undefined ? {} : { tracing }),
    },
    'test config',
    {},
  );
  const gw = await startGateway(config, {
    port: 0,
    log: createLogger('info', opts.log ?? new LogCapture().stream),
    ...(opts.batchDefault === true ? {} : { tracing: { scheduledDelayMs: 5 } }),
  });
  let stopped = false;
  t.after(() => (stopped ? undefined : gw.shutdown(0)));
  return Object.assign(gw, {
    stop() {
      stopped = true;
      return gw.shutdown(0);
    },
  });
}

function chat(gw: Gateway, headers: Record<string, string> = {}, stream = false): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'Hello' }] }),
  });
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

test('exports a request span under the client traceparent and one child span per attempt, each sent upstream as traceparent', async (t) => {
  const otlp = await otlpReceiver(t);
  const up = await recordingUpstream(t, { failFirst: true });
  const gw = await gateway(t, up.url, {
    otlp_endpoint: otlp.url,
    service_name: 'spillway-test',
    headers: { authorization: 'Bearer collector-token' },
  });
  const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpan = '00f067aa0ba902b7';
  const res = await chat(gw, { traceparent: `00-${clientTrace}-${clientSpan}-01`, 'x-spillway-priority': 'high' });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(res.headers.get('x-spillway-attempts'), '2');

  await otlp.until((s) => s.some((x) => x.kind === 2));
  const server = otlp.spans.filter((s) => s.kind === 2);
  const attempts = otlp.spans
    .filter((s) => s.kind === 3)
    .sort((x, y) => Number(attr(x, 'spillway.attempt')) - Number(attr(y, 'spillway.attempt')));
  assert.equal(server.length, 1, 'one request span');
  const req = server[0] as OtlpSpan & { service: string };
  assert.equal(req.traceId, clientTrace, 'the client trace is continued');
  assert.equal(req.parentSpanId, clientSpan, 'the request span is a child of the client span');
  assert.equal(req.service, 'spillway-test');
  assert.equal(req.name, 'POST /v1/chat/completions');
  assert.equal(attr(req, 'spillway.model'), 'chat');
  assert.equal(attr(req, 'spillway.priority'), 'high');
  assert.equal(attr(req, 'spillway.code'), 'ok');
  assert.equal(attr(req, 'spillway.attempts'), 2);
  assert.equal(attr(req, 'http.response.status_code'), 200);
  assert.equal(attr(req, 'spillway.upstream'), res.headers.get('x-spillway-upstream'));

  assert.equal(attempts.length, 2, 'one span per attempt');
  for (const a of attempts) {
    assert.equal(a.traceId, clientTrace);
    assert.equal(a.parentSpanId, req.spanId, 'attempt spans are children of the request span');
  }
  const first = attempts[0] as OtlpSpan;
  const second = attempts[1] as OtlpSpan;
  assert.equal(attr(first, 'spillway.outcome'), 'overloaded');
  assert.equal(attr(first, 'http.response.status_code'), 503);
  assert.equal(first.status?.code, 2, 'a failed attempt is an error span');
  assert.equal(attr(second, 'spillway.outcome'), 'ok');
  assert.equal(attr(second, 'http.response.status_code'), 200);
  assert.equal(attr(second, 'spillway.upstream'), res.headers.get('x-spillway-upstream'));
  assert.notEqual(
    attr(first, 'spillway.upstream'),
    attr(second, 'spillway.upstream'),
    'the retry went to the other upstream',
  );

  // What each upstream request carried: the trace id, and its own attempt span as the parent.
  assert.equal(up.seen.length, 2);
  for (const [i, a] of attempts.entries()) {
    const m = TRACEPARENT.exec(String(up.seen[i]?.headers.traceparent));
    assert.ok(m, `attempt ${i + 1} sent a W3C traceparent`);
    assert.equal(m[1], clientTrace);
    assert.equal(m[2], a.spanId);
    assert.equal(m[3], '01');
    assert.equal(
      up.seen[i]?.path.startsWith(`/${String(attr(a, 'spillway.upstream'))}/`),
      true,
      'the span names the upstream that was called',
    );
  }
  assert.equal(otlp.exportHeaders[0]?.authorization, 'Bearer collector-token', 'tracing.headers go with every export');
});

test('starts a new trace for a streamed request without traceparent, the attempt span parenting the upstream call', async (t) => {
  const otlp = await otlpReceiver(t);
  const up = await recordingUpstream(t, { failFirst: false });
  const gw = await gateway(
    t,
    up.url,
    { otlp_endpoint: `${otlp.url}/v1/traces` },
    { auth: { keys: [{ key: 'team-a-gateway-key', tenant: 'team-a' }] }, tenants: { 'team-a': {} } },
  );
  const res = await chat(gw, { authorization: 'Bearer team-a-gateway-key' }, true);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /data: \[DONE\]/);
  await otlp.until((s) => s.some((x) => x.kind === 2));
  const req = otlp.spans.find((s) => s.kind === 2) as OtlpSpan & { service: string };
  const attempts = otlp.spans.filter((s) => s.kind === 3);
  assert.equal(req.parentSpanId ?? '', '', 'a root span');
  assert.equal(req.service, 'spillway');
  assert.equal(attr(req, 'spillway.stream'), true);
  assert.equal(attr(req, 'spillway.tenant'), 'team-a');
  assert.equal(attr(req, 'spillway.priority'), 'normal');
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0]?.parentSpanId, req.spanId);
  assert.equal(attr(attempts[0] as OtlpSpan, 'spillway.outcome'), 'ok');
  const m = TRACEPARENT.exec(String(up.seen[0]?.headers.traceparent));
  assert.ok(m);
  assert.equal(m[1], req.traceId);
  assert.equal(m[2], attempts[0]?.spanId);
});

test('with sample_ratio 0 exports no span of a new trace yet still propagates its context, and follows a sampled client', async (t) => {
  const otlp = await otlpReceiver(t);
  const up = await recordingUpstream(t, { failFirst: false });
  const gw = await gateway(t, up.url, { otlp_endpoint: otlp.url, sample_ratio: 0 });
  const unsampled = await chat(gw);
  assert.equal(unsampled.status, 200);
  await unsampled.text();
  const m = TRACEPARENT.exec(String(up.seen[0]?.headers.traceparent));
  assert.ok(m, 'an unsampled trace still has a context to pass on');
  assert.equal(m[3], '00', 'marked not sampled');

  const clientTrace = '0af7651916cd43dd8448eb211c80319c';
  const sampled = await chat(gw, { traceparent: `00-${clientTrace}-b7ad6b7169203331-01` });
  await sampled.text();
  // Spans are exported in the order they end: once the sampled request's span is in, the unsampled one would be.
  await otlp.until((s) => s.some((x) => x.kind === 2));
  assert.deepEqual(
    new Set(otlp.spans.map((s) => s.traceId)),
    new Set([clientTrace]),
    'only the client-sampled trace was exported',
  );
  assert.equal(otlp.spans.length, 2);
});

test('sends no traceparent upstream when tracing is off', async (t) => {
  const up = await recordingUpstream(t, { failFirst: false });
  const gw = await gateway(t, up.url, undefined);
  const res = await chat(gw, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(
    up.seen[0]?.headers.traceparent,
    undefined,
    "the client's traceparent is not forwarded as if it were ours",
  );
  assert.equal(gw.config.tracing.otlpEndpoint, null);
});

test('logs one warning, naming the collector, when it refuses the spans', async (t) => {
  const collector = await fixedUpstream(t, (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":3,"message":"bad payload"}');
  });
  const up = await recordingUpstream(t, { failFirst: false });
  const lines = new EventEmitter();
  const logged: Record<string, unknown>[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l === '') continue;
        const rec = JSON.parse(l) as Record<string, unknown>;
        logged.push(rec);
        lines.emit('line', rec);
      }
      cb();
    },
  });
  const gw = await gateway(t, up.url, { otlp_endpoint: collector.url }, { log: stream });
  const warned = once(lines, 'warned');
  lines.on('line', (rec: Record<string, unknown>) => {
    if (String(rec.msg).startsWith('tracing: exporting spans failed')) lines.emit('warned', rec);
  });
  for (let i = 0; i < 3; i++) await (await chat(gw)).text();
  const [rec] = (await warned) as [Record<string, unknown>];
  assert.equal(rec.endpoint, `${collector.url}/v1/traces`);
  assert.equal(rec.level, 40, 'a warning');
  assert.ok(collector.hits() >= 1);
  // Later failures within the minute are counted, not logged again.
  for (let i = 0; i < 3; i++) await (await chat(gw)).text();
  await gw.stop();
  assert.equal(logged.filter((r) => String(r.msg).startsWith('tracing: exporting spans failed')).length, 1);
});

test('a collector that never answers holds up shutdown for at most a few seconds', async (t) => {
  const collector = await fixedUpstream(t, () => {
    // Never answers: the export hangs until the gateway gives up on it.
  });
  const up = await recordingUpstream(t, { failFirst: false });
  const logs = new LogCapture();
  // The default batching delay (5 s): the spans are still buffered when the shutdown starts.
  const gw = await gateway(t, up.url, { otlp_endpoint: collector.url }, { log: logs.stream, batchDefault: true });
  await (await chat(gw)).text();
  const started = performance.now();
  assert.equal(await gw.stop(), true);
  const tookMs = performance.now() - started;
  assert.ok(tookMs < 4_500, `shutdown took ${Math.round(tookMs)} ms`);
  assert.ok(collector.hits() >= 1, 'the last spans were offered to the collector');
  assert.ok(
    logs.records().some((r) => String(r.msg).startsWith('tracing: the collector did not take the last spans in time')),
  );
});

/**
 * Starts a gateway in a child process that records every module it loads, serves one request, and says whether
 * Spillway's tracing code or the OpenTelemetry SDK was among them (the API package does not count: prom-client
 * loads it for exemplars). A child, because this test process has loaded them already.
 */
async function loadsOpenTelemetry(
  t: TestContext,
  upstreamUrl: string,
  tracing: Record<string, unknown> | undefined,
): Promise<boolean> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
    const { resolveConfig } = await import('./src/config/load.ts');
    const { startGateway } = await import('./src/lifecycle/start-gateway.ts');
    const { createLogger } = await import('./src/observe/log.ts');
    const config = resolveConfig(${JSON.stringify({
      log: { level: 'silent' },
      upstreams: [{ name: 'a', url: `${upstreamUrl}/a` }],
      models: { chat: { routes: [{ upstream: 'a', model: 'up-model' }] } },
      ...(tracing === undefined ? {} : { tracing }),
    })}, 'child config', {});
    const gw = await startGateway(config, { port: 0, log: createLogger('silent') });
    const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }) });
    await res.text();
    await gw.shutdown(0);
    process.stdout.write(JSON.stringify({ status: res.status, otel: loaded.filter((u) => u.endsWith('/src/observe/tracing.ts') || /@opentelemetry\\/(?!api\\/)/.test(u)).length }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill());
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
  const r = JSON.parse(out) as { status: number; otel: number };
  assert.equal(r.status, 200);
  return r.otel > 0;
}

test('with tracing off neither the tracing code nor the OpenTelemetry SDK is loaded; with it on they are', async (t) => {
  const up = await recordingUpstream(t, { failFirst: false });
  const otlp = await otlpReceiver(t);
  assert.equal(await loadsOpenTelemetry(t, up.url, undefined), false, 'off: nothing of tracing is imported');
  assert.equal(await loadsOpenTelemetry(t, up.url, { otlp_endpoint: '' }), false, 'an empty endpoint is off too');
  assert.equal(await loadsOpenTelemetry(t, up.url, { otlp_endpoint: otlp.url }), true, 'on: the SDK is loaded');
});
