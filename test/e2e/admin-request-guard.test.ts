import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startStack } from '../helpers/stack.ts';
import { tempDataDir } from '../helpers/jobs.ts';

const KEY = 'admin-secret-123456';
const config = (urls: string[]) => ({
  admin: { key: KEY },
  server: { allowed_hosts: ['spillway.local'] },
  upstreams: urls.map((url, i) => ({ name: `mock${i}`, url })),
  models: { chat: { routes: urls.map((_, i) => ({ upstream: `mock${i}` })) } },
});

/** A raw request, so the Host header can be anything (fetch always sends the URL's). */
function raw(
  url: string,
  path: string,
  method: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${KEY}` };

test('a DNS-rebinding page (a foreign Host) gets 403 host_not_allowed from the admin surface, before any key check', async (t) => {
  const { gw } = await startStack(t, { config });
  assert.deepEqual(await raw(gw.url, '/admin/config', 'GET', { ...auth, host: 'evil.example:80' }), {
    status: 403,
    code: 'host_not_allowed',
  });
  assert.deepEqual(await raw(gw.url, '/admin/config', 'GET', { host: 'attacker.test' }), {
    status: 403,
    code: 'host_not_allowed',
  });
  assert.equal(
    (await raw(gw.url, '/admin/config', 'GET', { ...auth, host: `spillway.local:${gw.port}` })).status,
    200,
    'a name in server.allowed_hosts',
  );
  assert.equal(
    (await raw(gw.url, '/admin/config', 'GET', { ...auth, host: `localhost:${gw.port}` })).status,
    200,
    'a loopback name',
  );
});

test("a cross-site Origin gets 403 cross_origin_refused; the gateway's own origin passes", async (t) => {
  const { gw } = await startStack(t, { config });
  const json = { ...auth, 'content-type': 'application/json' };
  assert.deepEqual(
    await raw(gw.url, '/admin/upstreams/mock0/drain', 'POST', { ...json, origin: 'https://evil.example' }),
    { status: 403, code: 'cross_origin_refused' },
  );
  assert.deepEqual(await raw(gw.url, '/admin/upstreams/mock0/drain', 'POST', { ...json, origin: 'null' }), {
    status: 403,
    code: 'cross_origin_refused',
  });
  assert.equal((await raw(gw.url, '/admin/upstreams/mock0/undrain', 'POST', { ...json, origin: gw.url })).status, 200);
});

test('state-changing admin requests without a JSON content type get 415 json_required and change nothing', async (t) => {
  const { gw } = await startStack(t, { config });
  for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded']) {
    const res = await raw(
      gw.url,
      '/admin/upstreams/mock0/drain',
      'POST',
      { ...auth, ...(ct === undefined ? {} : { 'content-type': ct }) },
      ct === undefined ? '' : 'x=1',
    );
    assert.deepEqual(res, { status: 415, code: 'json_required' }, String(ct));
  }
  const ups = (await (await fetch(`${gw.url}/admin/upstreams`, { headers: auth })).json()) as {
    upstreams: { name: string; drained: boolean }[];
  };
  assert.equal(ups.upstreams[0]?.drained, false, 'the refused drains did nothing');
  assert.equal(
    (await raw(gw.url, '/admin/upstreams/mock0/drain', 'POST', { ...auth, 'content-type': 'application/json' })).status,
    200,
  );
});

test('the admin key in ?key= is accepted only by the dashboard page and its event stream', async (t) => {
  const { gw } = await startStack(t, { config });
  assert.equal((await fetch(`${gw.url}/admin/config?key=${KEY}`)).status, 401);
  assert.equal(
    (
      await fetch(`${gw.url}/admin/upstreams/mock0/drain?key=${KEY}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
    ).status,
    401,
  );
  assert.equal((await fetch(`${gw.url}/admin/requests?key=${KEY}`)).status, 401);
  assert.equal((await fetch(`${gw.url}/dashboard?key=${KEY}`)).status, 200);
  const ac = new AbortController();
  t.after(() => ac.abort());
  const sse = await fetch(`${gw.url}/admin/stats/stream?key=${KEY}`, { signal: ac.signal });
  assert.equal(sse.status, 200);
  ac.abort();
});

test('the API refuses a foreign Host or a cross-site Origin too, so a page cannot spend a keyless loopback gateway', async (t) => {
  const { gw, mocks } = await startStack(t, {
    config: (urls) => ({ ...config(urls), jobs: { enabled: true, data_dir: tempDataDir(t) } }),
  });
  const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
  const json = { 'content-type': 'application/json' };
  assert.deepEqual(await raw(gw.url, '/v1/chat/completions', 'POST', { ...json, host: 'evil.example' }, body), {
    status: 403,
    code: 'host_not_allowed',
  });
  // A cross-site form post (text/plain, no preflight) carries its page's Origin.
  assert.deepEqual(
    await raw(
      gw.url,
      '/v1/chat/completions',
      'POST',
      { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body,
    ),
    { status: 403, code: 'cross_origin_refused' },
  );
  assert.deepEqual(await raw(gw.url, '/v1/files', 'GET', { host: 'evil.example' }), {
    status: 403,
    code: 'host_not_allowed',
  });
  const served = mocks[0]?.stats().received ?? -1;
  assert.equal(served, 0, 'nothing reached the upstream');
  assert.equal(
    (await raw(gw.url, '/v1/chat/completions', 'POST', json, body)).status,
    200,
    'a same-origin client passes',
  );
  assert.equal((await raw(gw.url, '/healthz', 'GET', { host: 'evil.example' })).status, 200, 'probes are not guarded');
});
