import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ShardedPool } from '../../../src/upstream/sharded-pool.ts';
import { UpstreamCall } from '../../../src/upstream/upstream-call.ts';

/** A server that holds every request until `release()`, counting the connections open at once. */
async function holdingServer(t: { after: (fn: () => Promise<void> | void) => void }) {
  const held: ServerResponse[] = [];
  let open = 0;
  let peak = 0;
  const arrived: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
    for (const f of arrived.splice(0)) f();
  });
  server.on('connection', (s) => {
    peak = Math.max(peak, ++open);
    s.on('close', () => open--);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get held() {
      return held.length;
    },
    get peak() {
      return peak;
    },
    /** Resolves once `n` requests are held. */
    async until(n: number): Promise<void> {
      while (held.length < n) await new Promise<void>((r) => arrived.push(r));
    },
    release(): void {
      for (const res of held.splice(0)) res.end('ok');
    },
  };
}

function send(pool: ShardedPool): { call: UpstreamCall; body: Promise<string> } {
  const call = new UpstreamCall();
  pool.dispatch({ method: 'POST', path: '/x', headers: { 'content-type': 'application/json' }, body: '{}' }, call);
  const body = (async () => {
    await call.head;
    let text = '';
    for await (const c of call) text += c.toString();
    return text;
  })();
  return { call, body };
}

const OPTIONS = { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 };

test('a sharded pool fills its first shard before the next, never opens more connections than its cap, and queues past it', async (t) => {
  const server = await holdingServer(t);
  // 5 connections in shards of at most 2: caps 2, 2, 1.
  const pool = new ShardedPool(server.origin, 5, OPTIONS, 2);
  t.after(() => pool.destroy());
  const first = [send(pool), send(pool)];
  assert.deepEqual(pool.inFlight, [2, 0, 0]);
  const rest = [send(pool), send(pool), send(pool)];
  assert.deepEqual(pool.inFlight, [2, 2, 1]);
  await server.until(5);
  // Every connection busy: the sixth waits in the least busy shard, as it would have in one Pool.
  const sixth = send(pool);
  assert.deepEqual(pool.inFlight, [2, 2, 2]);
  server.release();
  await server.until(1);
  server.release();
  assert.deepEqual(await Promise.all([...first, ...rest, sixth].map((s) => s.body)), Array(6).fill('ok'));
  assert.deepEqual(pool.inFlight, [0, 0, 0]);
  assert.equal(server.peak, 5);
  // Light load again goes to the first shard, on its warm connections.
  const again = send(pool);
  assert.deepEqual(pool.inFlight, [1, 0, 0]);
  await server.until(1);
  server.release();
  assert.equal(await again.body, 'ok');
  assert.equal(server.peak, 5);
});

test("a call aborted, or refused by a dead upstream, gives its shard's count back", async (t) => {
  const server = await holdingServer(t);
  const pool = new ShardedPool(server.origin, 4, OPTIONS, 2);
  t.after(() => pool.destroy());
  const a = send(pool);
  await server.until(1);
  a.call.abort(new Error('client left'));
  await assert.rejects(a.body, /client left/);
  assert.deepEqual(pool.inFlight, [0, 0]);

  const dead = new ShardedPool('http://127.0.0.1:9', 4, OPTIONS, 2);
  t.after(() => dead.destroy());
  const b = send(dead);
  await assert.rejects(b.body);
  assert.deepEqual(dead.inFlight, [0, 0]);
});

test('the call settles once whichever way it ends', () => {
  const call = new UpstreamCall();
  let n = 0;
  call.onSettled(() => n++);
  call.onResponseStart(undefined as never, 200, {});
  call.onResponseEnd();
  call.onResponseError(undefined as never, new Error('late'));
  call.settle();
  assert.equal(n, 1);
});
