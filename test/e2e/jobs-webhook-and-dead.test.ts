import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, fixedUpstream } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/jobs/webhook-signature.ts';

const SECRET = 'whsec-test-0123456789abcdef';

test('a webhook receiver verifies the signed completion; a tampered payload fails verification', async (t) => {
  const dir = tempDataDir(t);
  let deliver: (v: { body: string; signature: string | undefined }) => void = () => undefined;
  const delivered = new Promise<{ body: string; signature: string | undefined }>((resolve) => (deliver = resolve));
  const receiver = await fixedUpstream(t, (req, res, body) => {
    deliver({ body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
    res.writeHead(204).end();
  });
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir, webhook: { secret: SECRET } }) });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', 'x-spillway-webhook-url': `${receiver.url}/hook` },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'ping' }], max_tokens: 2 }),
  });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  const got = await delivered;
  const nowS = Date.now() / 1000;
  assert.deepEqual(verifyWebhook(SECRET, got.signature, got.body, nowS), { ok: true });
  const job = JSON.parse(got.body) as { id: string; status: string };
  assert.equal(job.id, id);
  assert.equal(job.status, 'completed');
  assert.deepEqual(verifyWebhook(SECRET, got.signature, got.body.replace('completed', 'failed'), nowS), { ok: false, why: 'mismatch' });
  assert.deepEqual(verifyWebhook('another-secret-0123456789', got.signature, got.body, nowS), { ok: false, why: 'mismatch' });
  assert.deepEqual(verifyWebhook(SECRET, got.signature, got.body, nowS + 3600), { ok: false, why: 'too_old' });
  assert.equal(receiver.hits(), 1);
});

interface DeadList { data: { id: string; custom_id: string; state: string; attempts: number; last_error: string }[] }

test('an item that keeps failing goes to the dead-letter list with its last error; the admin API requeues and purges it', async (t) => {
  const dir = tempDataDir(t);
  let fail = true;
  const upstream = await fixedUpstream(t, (_req, res) => {
    if (fail) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"kaput","type":"server_error","code":null}}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}');
    }
  });
  const { gw } = await startStack(t, {
    config: () => jobsConfig([upstream.url], { data_dir: dir, max_attempts: 2, backoff_base: '10ms', backoff_cap: '20ms' }, { retry: { max_attempts: 1 } }),
  });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'doomed' }] }),
  });
  const { id } = (await res.json()) as { id: string };
  const job = await pollUntil(async () => (await (await fetch(`${gw.url}/v1/jobs/${id}`)).json()) as { status: string; error: { code: string; message: string } | null }, (j) => j.status === 'failed');
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'max_attempts_exceeded');
  assert.equal(upstream.hits(), 2, 'max_attempts runs, no more');
  const dead = (await (await fetch(`${gw.url}/admin/jobs/dead`)).json()) as DeadList;
  assert.equal(dead.data.length, 1);
  assert.equal(dead.data[0]?.attempts, 2);
  assert.match(dead.data[0]?.last_error ?? '', /kaput/);
  const itemId = dead.data[0]?.id ?? '';
  const shown = (await (await fetch(`${gw.url}/admin/jobs/items/${encodeURIComponent(itemId)}`)).json()) as { state: string };
  assert.equal(shown.state, 'dead');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_jobs_runs_total\{result="dead"\} 1/);
  fail = false;
  const rq = await fetch(`${gw.url}/admin/jobs/dead/${encodeURIComponent(itemId)}/requeue`, { method: 'POST' });
  assert.equal(rq.status, 200);
  const done = await pollUntil(async () => (await (await fetch(`${gw.url}/v1/jobs/${id}`)).json()) as { status: string }, (j) => j.status === 'completed');
  assert.equal(done.status, 'completed');
  assert.equal(((await (await fetch(`${gw.url}/admin/jobs/dead`)).json()) as DeadList).data.length, 0);
  const purge = await fetch(`${gw.url}/admin/jobs/dead/${encodeURIComponent(itemId)}`, { method: 'DELETE' });
  assert.equal(purge.status, 404, 'no longer dead: nothing to purge');
  const stats = (await (await fetch(`${gw.url}/admin/jobs`)).json()) as { items: Record<string, number> };
  assert.equal(stats.items.done, 1);
});
