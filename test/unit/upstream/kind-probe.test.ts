import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveConfig } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { probeKind } from '../../../src/upstream/kind-probe.ts';
import { UpstreamKinds } from '../../../src/upstream/upstream-kinds.ts';

async function server(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function upstreams(urls: string[], extra: Record<string, unknown> = {}) {
  return resolveConfig(
    {
      upstreams: urls.map((url, i) => ({ name: `u${i}`, url, api_key: 'sk-probe', ...extra })),
      models: { chat: { routes: urls.map((_u, i) => ({ upstream: `u${i}` })) } },
    },
    'test',
    {},
  ).upstreams;
}

const listing = (owner: string) =>
  JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model', owned_by: owner }] });

test('the probe asks GET {url}/models with the key and reads the kind from the listing', async (t) => {
  const seen: { method?: string; url?: string; auth?: string }[] = [];
  const url = await server(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end(listing('vllm'));
  });
  const [u] = upstreams([`${url}/v1`]);
  assert.equal(u?.kind, 'openai');
  assert.equal(u?.kindProbe, true);
  assert.equal(await probeKind(u, 2000), 'vllm');
  assert.deepEqual(seen, [{ method: 'GET', url: '/v1/models', auth: 'Bearer sk-probe' }]);
});

test('a probe that fails in any way is "not known", never an error', async (t) => {
  const slow = await server(t, () => {}); // never answers
  const refused = await server(t, (_req, res) => res.writeHead(401).end('{"error":{"message":"no"}}'));
  const garbage = await server(t, (_req, res) => res.writeHead(200).end('<html>'));
  const huge = await server(t, (_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let n = 0;
    const write = (): void => {
      while (n < 40 && res.write(chunk)) n++;
      if (n < 40) res.once('drain', write);
      else res.end('{}');
    };
    write();
  });
  const started = Date.now();
  const kinds = await Promise.all(
    upstreams([slow, refused, garbage, huge, 'http://127.0.0.1:9/v1']).map((u) => probeKind(u, 300)),
  );
  assert.deepEqual(kinds, [undefined, undefined, undefined, undefined, undefined]);
  assert.ok(Date.now() - started < 5000, 'bounded by its timeout');
});

test('kinds: the probe upgrades only upstreams neither config nor URL told, in the background', async (t) => {
  let probes = 0;
  const sglang = await server(t, (_req, res) => {
    probes++;
    res.writeHead(200).end(listing('sglang'));
  });
  const [probed, set] = upstreams([sglang, sglang]).map((u, i) =>
    i === 1 ? { ...u, kind: 'vllm' as const, kindProbe: false } : u,
  );
  const kinds = new UpstreamKinds();
  assert.equal(kinds.of(probed!), 'openai', 'openai until the probe answers');
  await kinds.probe([probed!, set!], createLogger('silent'));
  assert.equal(kinds.of(probed!), 'sglang');
  assert.equal(kinds.of(set!), 'vllm', 'a kind the config set is never probed over');
  await kinds.probe([probed!], createLogger('silent'));
  assert.equal(probes, 1, 'one probe per URL, kept across reloads');
});
