import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { Agent, request } from 'undici';
import {
  isNonPublicAddress,
  NonPublicAddressError,
  webhookLookup,
  webhookUrlProblem,
} from '../../../src/jobs/run/webhook-target.ts';

test('loopback, private, link-local, unique-local, unspecified and mapped addresses are not public; others are', () => {
  const table: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['fc12::3', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:169.254.169.254', true],
    ['[::1]', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['not-an-ip', true],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['172.32.0.1', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
  ];
  for (const [ip, nonPublic] of table) assert.equal(isNonPublicAddress(ip), nonPublic, ip);
});

test('a webhook URL is accepted only for an allow-listed host, and never for a non-public address literal', () => {
  const policy = { allowedHosts: ['hooks.example.com', '*.corp.example', '[::1]', '127.0.0.1'], allowPrivate: false };
  const table: [string, RegExp | null][] = [
    ['https://hooks.example.com/x', null],
    ['https://HOOKS.example.com:8443/x', null],
    ['https://a.b.corp.example/x', null],
    ['https://corp.example/x', /not in jobs\.webhook\.allowed_hosts/],
    ['https://hooks.example.com.evil.test/x', /not in jobs\.webhook\.allowed_hosts/],
    ['https://evil.test/x', /"evil\.test" is not in jobs\.webhook\.allowed_hosts/],
    ['http://169.254.169.254/latest/meta-data', /not in jobs\.webhook\.allowed_hosts/],
    ['http://127.0.0.1:8080/admin/upstreams/a/drain', /127\.0\.0\.1 is not a public address/],
    ['http://[::1]/x', /::1 is not a public address/],
    ['ftp://hooks.example.com/x', /http\(s\) URL/],
    ['https://user:pw@hooks.example.com/x', /credentials/],
    ['not a url', /absolute http\(s\) URL/],
  ];
  for (const [url, says] of table) {
    const got = webhookUrlProblem(url, policy);
    if (says === null) assert.equal(got, null, url);
    else assert.match(got ?? '(accepted)', says, url);
  }
  assert.match(
    webhookUrlProblem('https://hooks.example.com/x', { allowedHosts: [], allowPrivate: true }) ?? '',
    /Webhooks are off: jobs\.webhook\.allowed_hosts is empty/,
  );
  assert.equal(
    webhookUrlProblem('http://127.0.0.1:9/x', { ...policy, allowPrivate: true }),
    null,
    'allow_private lets a listed private host through',
  );
});

/** A resolver standing in for DNS: every name resolves to the given addresses. */
function resolver(addresses: string[]) {
  let calls = 0;
  const fn = ((_host: string, _opts: unknown, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
    calls++;
    cb(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  }) as unknown as typeof dnsLookup;
  return { fn, calls: () => calls };
}

function lookupOnce(
  lookup: ReturnType<typeof webhookLookup>,
  all: boolean,
): Promise<{ err: Error | null; address: unknown }> {
  return new Promise((resolve) => lookup('hooks.example.com', { all }, (err, address) => resolve({ err, address })));
}

test('the connection lookup refuses a name with any non-public address, and passes public ones in either calling form', async () => {
  const pub = await lookupOnce(webhookLookup(false, resolver(['93.184.216.34']).fn), false);
  assert.equal(pub.err, null);
  assert.equal(pub.address, '93.184.216.34');
  const all = await lookupOnce(webhookLookup(false, resolver(['93.184.216.34', '2606:2800::1']).fn), true);
  assert.deepEqual(
    (all.address as LookupAddress[]).map((a) => a.address),
    ['93.184.216.34', '2606:2800::1'],
  );
  for (const addresses of [['169.254.169.254'], ['93.184.216.34', '10.0.0.7'], ['::1'], ['fe80::1']]) {
    const r = await lookupOnce(webhookLookup(false, resolver(addresses).fn), false);
    assert.ok(r.err instanceof NonPublicAddressError, addresses.join(','));
  }
  assert.equal((await lookupOnce(webhookLookup(true, resolver(['127.0.0.1']).fn), false)).err, null, 'allow_private');
});

test('the webhook agent connects to the address its own lookup checked (no second resolution to rebind)', async (t) => {
  let hits = 0;
  const receiver = createServer((_req, res) => {
    hits++;
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => receiver.close());
  const { port } = receiver.address() as AddressInfo;
  // The name exists only in the checked lookup: reaching the receiver proves the connection used that answer.
  const loopback = resolver(['127.0.0.1']);
  const allowed = new Agent({ connect: { lookup: webhookLookup(true, loopback.fn) } });
  t.after(() => allowed.close());
  const ok = await request(`http://hooks.rebind.test:${port}/`, { method: 'POST', body: '{}', dispatcher: allowed });
  await ok.body.dump();
  assert.equal(ok.statusCode, 204);
  assert.equal(hits, 1);
  assert.equal(loopback.calls(), 1);
  const guarded = new Agent({ connect: { lookup: webhookLookup(false, resolver(['127.0.0.1']).fn) } });
  t.after(() => guarded.close());
  await assert.rejects(
    request(`http://hooks.rebind.test:${port}/`, { method: 'POST', body: '{}', dispatcher: guarded }),
    (e: Error) => {
      assert.ok(
        e instanceof NonPublicAddressError || (e as { cause?: unknown }).cause instanceof NonPublicAddressError,
        String(e),
      );
      return true;
    },
  );
  assert.equal(hits, 1, 'the refused connection never reached the receiver');
});
