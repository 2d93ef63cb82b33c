import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';

const EVENT = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'chat', choices: [{ index: 0, delta: { content: 'x'.repeat(1000) } }] })}\n\n`;
// ~110 MB: far more than socket buffers hold (loopback TCP buffers autotune up to tens of MB: net.ipv4.tcp_rmem)
const TOTAL_EVENTS = 100_000;

test('a slow client makes the gateway pause the upstream instead of buffering the stream', async (t) => {
  let written = 0;
  let finished = false;
  const upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // One wait for the close, not one per pause: a listener per pause is a leak Node warns about.
    const closed = once(res, 'close').then(() => 'closed');
    void (async () => {
      for (let i = 0; i < TOTAL_EVENTS; i++) {
        written += EVENT.length;
        if (!res.write(EVENT)) {
          const drained = new Promise<string>((resolve) => res.once('drain', () => resolve('drain')));
          if ((await Promise.race([drained, closed])) === 'closed') return;
        }
      }
      res.end('data: [DONE]\n\n');
      finished = true;
    })();
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.after(() => {
    upstream.closeAllConnections();
    upstream.close();
  });
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const config = resolveConfig(
    { log: { level: 'silent' }, upstreams: [{ name: 'u', url }], models: { chat: { routes: [{ upstream: 'u' }] } } },
    't',
    {},
  );
  const gw = await startGateway(config, { port: 0, log: createLogger('silent') });
  t.after(() => gw.shutdown(0));

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      `${gw.url}/v1/chat/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      resolve,
    );
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }], stream: true }));
  });
  res.pause();
  // Bounded wait until the upstream stops making progress (it is blocked on backpressure): polls, never asserts speed.
  let last = -1;
  for (let i = 0; i < 200 && written !== last; i++) {
    last = written;
    await new Promise((r) => setTimeout(r, 50));
  }
  const total = EVENT.length * TOTAL_EVENTS;
  assert.equal(finished, false, 'the upstream could write the whole answer: nothing held it back');
  assert.ok(written < total / 4, `the upstream wrote ${written} of ${total} bytes while the client read nothing`);
  let received = 0;
  res.on('data', (c: Buffer) => {
    received += c.length;
  });
  res.resume();
  await once(res, 'end');
  assert.equal(finished, true);
  assert.equal(received, total + 'data: [DONE]\n\n'.length, 'every byte arrived once the client read');
});
