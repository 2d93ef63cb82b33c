import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, fixedUpstream } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/jobs/run/webhook-signature.ts';

const SECRET = 'whsec-test-0123456789abcdef';

test('a webhook receiver verifies the signed completion; a tampered payload fails verification', async (t) => {
  const dir = tempDataDir(t);
  let deliver: (v: { body: string; signature: string | undefined }) => void = () => undefined;
  const delivered = new Promise<{ body: string; signature: string | undefined }>((resolve) => (deliver = resolve));
  const receiver = await fixedUpstream(t, (req, res, body) => {
    deliver({ body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
    res.writeHead(204).end();
  });
  // The receiver is on loopback: listed, and private addresses opted in (jobs.webhook.allow_private) for this test.
  const { gw } = await startStack(t, {
    config: (urls) =>
      jobsConfig(urls, {
        data_dir: dir,
        webhook: { secret: SECRET, allowed_hosts: ['127.0.0.1'], allow_private: true },
      }),
  });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      prefer: 'respond-async',
      'x-spillway-webhook-url': `${receiver.url}/hook`,
    },
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
  assert.deepEqual(verifyWebhook(SECRET, got.signature, got.body.replace('completed', 'failed'), nowS), {
    ok: false,
    why: 'mismatch',
  });
  assert.deepEqual(verifyWebhook('another-secret-0123456789', got.signature, got.body, nowS), {
    ok: false,
    why: 'mismatch',
  });
  assert.deepEqual(verifyWebhook(SECRET, got.signature, got.body, nowS + 3600), { ok: false, why: 'too_old' });
  assert.equal(receiver.hits(), 1);
});

interface DeadList {
  data: { id: string; custom_id: string; state: string; attempts: number; last_error: string }[];
}

test('an item that keeps failing goes to the dead-letter list with its last error; the admin API requeues and purges it', async (t) => {
  const dir = tempDataDir(t);
  let fail = true;
  const upstream = await fixedUpstream(t, (_req, res) => {
    if (fail) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"error":{"message":"kaput","type":"server_error","code":null}}');
    } else {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          '{"id":"x","object":"chat.completion","model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}',
        );
    }
  });
  const { gw } = await startStack(t, {
    config: () =>
      jobsConfig(
        [upstream.url],
        { data_dir: dir, max_attempts: 2, backoff_base: '10ms', backoff_cap: '20ms' },
        { retry: { max_attempts: 1 } },
      ),
  });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'doomed' }] }),
  });
  const { id } = (await res.json()) as { id: string };
  const job = await pollUntil(
    async () =>
      (await (await fetch(`${gw.url}/v1/jobs/${id}`)).json()) as {
        status: string;
        error: { code: string; message: string } | null;
      },
    (j) => j.status === 'failed',
  );
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'max_attempts_exceeded');
  assert.equal(upstream.hits(), 2, 'max_attempts runs, no more');
  const dead = (await (await fetch(`${gw.url}/admin/jobs/dead`)).json()) as DeadList;
  assert.equal(dead.data.length, 1);
  assert.equal(dead.data[0]?.attempts, 2);
  assert.match(dead.data[0]?.last_error ?? '', /kaput/);
  const itemId = dead.data[0]?.id ?? '';
  const shown = (await (await fetch(`${gw.url}/admin/jobs/items/${encodeURIComponent(itemId)}`)).json()) as {
    state: string;
  };
  assert.equal(shown.state, 'dead');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_jobs_runs_total\{result="dead"\} 1/);
  fail = false;
  const rq = await fetch(`${gw.url}/admin/jobs/dead/${encodeURIComponent(itemId)}/requeue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(rq.status, 200);
  const done = await pollUntil(
    async () => (await (await fetch(`${gw.url}/v1/jobs/${id}`)).json()) as { status: string },
    (j) => j.status === 'completed',
  );
  assert.equal(done.status, 'completed');
  assert.equal(((await (await fetch(`${gw.url}/admin/jobs/dead`)).json()) as DeadList).data.length, 0);
  const purge = await fetch(`${gw.url}/admin/jobs/dead/${encodeURIComponent(itemId)}`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(purge.status, 404, 'no longer dead: nothing to purge');
  const stats = (await (await fetch(`${gw.url}/admin/jobs`)).json()) as { items: Record<string, number> };
  assert.equal(stats.items.done, 1);
});

async function submitWithWebhook(gwUrl: string, hook: string): Promise<Response> {
  return fetch(`${gwUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', 'x-spillway-webhook-url': hook },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'ping' }], max_tokens: 2 }),
  });
}

async function webhookResults(gwUrl: string): Promise<string> {
  return (await (await fetch(`${gwUrl}/metrics`)).text())
    .split('\n')
    .filter((l) => l.startsWith('spillway_jobs_webhooks_total'))
    .join('\n');
}

test('a webhook URL off the allow-list, or aimed at a private address, is refused with 400 webhook_not_allowed and nothing is stored', async (t) => {
  const dir = tempDataDir(t);
  const receiver = await fixedUpstream(t, (_req, res) => res.writeHead(204).end());
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  // The default: no allowed_hosts, so no webhook at all — not even to the loopback admin API or cloud metadata.
  for (const hook of [
    `${receiver.url}/hook`,
    `${gw.url}/admin/upstreams/mock0/drain`,
    'http://169.254.169.254/latest/meta-data/',
  ]) {
    const res = await submitWithWebhook(gw.url, hook);
    assert.equal(res.status, 400, hook);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    assert.equal(body.error.code, 'webhook_not_allowed');
    assert.equal(body.error.param, 'x-spillway-webhook-url');
    assert.match(body.error.message, /jobs\.webhook\.allowed_hosts is empty/);
  }
  const listed = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: tempDataDir(t), webhook: { allowed_hosts: ['127.0.0.1'] } }),
  });
  const res = await submitWithWebhook(listed.gw.url, `${receiver.url}/hook`);
  assert.equal(res.status, 400);
  assert.match(
    ((await res.json()) as { error: { message: string } }).error.message,
    /127\.0\.0\.1 is not a public address/,
  );
  const jobs = (await (await fetch(`${listed.gw.url}/admin/jobs`)).json()) as { items: Record<string, number> };
  assert.equal(
    Object.values(jobs.items).reduce((a, b) => a + b, 0),
    0,
    'no job was stored',
  );
  assert.equal(receiver.hits(), 0);
});

test('an allow-listed name that resolves to loopback is not delivered to: the check runs on the resolved address', async (t) => {
  const dir = tempDataDir(t);
  const receiver = await fixedUpstream(t, (_req, res) => res.writeHead(204).end());
  const { gw } = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: dir, webhook: { allowed_hosts: ['localhost'], max_attempts: 3 } }),
  });
  const res = await submitWithWebhook(gw.url, `${receiver.url.replace('127.0.0.1', 'localhost')}/hook`);
  assert.equal(res.status, 202, 'the name is listed, so the request is taken');
  const results = await pollUntil(
    () => webhookResults(gw.url),
    (m) => /result="failed"\} 1/.test(m),
  );
  assert.match(results, /result="failed"\} 1/, 'given up at once: a non-public address is not retried');
  assert.doesNotMatch(results, /result="retry"/);
  assert.equal(receiver.hits(), 0, 'the receiver on loopback was never reached');
});

test('a webhook receiver that redirects is not followed: the delivery fails and the redirect target is never hit', async (t) => {
  const dir = tempDataDir(t);
  const target = await fixedUpstream(t, (_req, res) => res.writeHead(204).end());
  const bouncer = await fixedUpstream(t, (_req, res) =>
    res.writeHead(307, { location: `${target.url}/admin/reload` }).end(),
  );
  const { gw } = await startStack(t, {
    config: (urls) =>
      jobsConfig(urls, {
        data_dir: dir,
        webhook: { allowed_hosts: ['127.0.0.1'], allow_private: true, max_attempts: 1 },
      }),
  });
  assert.equal((await submitWithWebhook(gw.url, `${bouncer.url}/hook`)).status, 202);
  const results = await pollUntil(
    () => webhookResults(gw.url),
    (m) => /result="failed"\} 1/.test(m),
  );
  assert.match(results, /result="failed"\} 1/);
  assert.equal(bouncer.hits(), 1);
  assert.equal(target.hits(), 0);
});
