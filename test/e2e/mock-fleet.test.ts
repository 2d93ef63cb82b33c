import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetError, startFleet } from '../../src/mock/fleet.ts';
import { startMock } from '../../src/mock/server.ts';

const chat = { model: 'm', messages: [{ role: 'user', content: 'fleet' }] };

function post(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat),
  });
}

test('startFleet runs several simulated upstreams on their own ports, each with its own behaviour and stats', async (t) => {
  const fleet = await startFleet({
    upstreams: [
      { name: 'healthy', seed: 5 },
      { name: 'broken', faults: { error500: 1 } },
      { name: 'limited', rpm: 1 },
    ],
  });
  t.after(() => fleet.close());
  assert.deepEqual(
    fleet.upstreams.map((u) => u.name),
    ['healthy', 'broken', 'limited'],
  );
  assert.equal(new Set(fleet.upstreams.map((u) => u.url)).size, 3, 'one port each');
  const statuses: Record<string, number[]> = {};
  for (const u of fleet.upstreams) {
    for (let i = 0; i < 2; i++) {
      const res = await post(u.url);
      assert.equal(res.headers.get('x-mock-name'), u.name);
      await res.text();
      (statuses[u.name] ??= []).push(res.status);
    }
  }
  assert.deepEqual(statuses, { healthy: [200, 200], broken: [500, 500], limited: [200, 429] });
  const stats = fleet.stats();
  assert.deepEqual(Object.keys(stats), ['healthy', 'broken', 'limited']);
  assert.equal(stats.healthy?.completed, 2);
  assert.equal(stats.broken?.faults.status_500, 2);
  assert.equal(stats.limited?.rejected.rpm, 1);
  await fleet.close();
  await assert.rejects(post(fleet.upstreams[0]?.url ?? ''), 'closed with the fleet');
});

test('a fleet that cannot start fully names the upstream and closes the ones already started', async (t) => {
  const taken = await startMock();
  t.after(() => taken.close());
  const probe = await startMock();
  const freePort = probe.port;
  await probe.close();
  await assert.rejects(
    startFleet({
      upstreams: [
        { name: 'first', port: freePort },
        { name: 'second', port: taken.port },
      ],
    }),
    (e: Error) =>
      e instanceof FleetError && /fleet upstream "second" did not start: port \d+ is already in use/.test(e.message),
  );
  await assert.rejects(post(`http://127.0.0.1:${freePort}`), 'the first upstream was closed again');
  await assert.rejects(
    startFleet({ upstreams: [{ name: 'twin' }, { name: 'twin' }] }),
    (e: Error) => e instanceof FleetError && e.message.includes('"twin" is used twice'),
  );
  await assert.rejects(
    startFleet({ upstreams: [{ name: 'bad', jitterPct: 500 }] }),
    (e: Error) => e instanceof FleetError && /"bad" did not start: .*jitterPct=500/.test(e.message),
  );
});
