import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { answerText } from '../../src/mock/answer-text.ts';

interface Job {
  id: string;
  object: string;
  status: string;
  response: { status_code: number; body: { choices: { message: { content: string } }[] } } | null;
  error: unknown;
}

async function submit(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', ...headers },
    body: JSON.stringify(body),
  });
}

test('Prefer: respond-async stores the request before answering 202 with Location, and the job completes with the answer', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const res = await submit(gw.url, {
    model: 'chat',
    messages: [{ role: 'user', content: 'hello async' }],
    max_tokens: 5,
  });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('preference-applied'), 'respond-async');
  const job = (await res.json()) as Job;
  assert.match(job.id, /^job_/);
  assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
  // Durable before the 202: a separate connection to the database file already sees the job.
  const db = new DatabaseSync(join(dir, 'jobs.sqlite'), { readOnly: true });
  const row = db.prepare('SELECT id FROM requests WHERE id = ?').get(job.id);
  db.close();
  assert.ok(row !== undefined, 'the job row exists when the 202 arrives');
  const done = await pollUntil(
    async () => (await (await fetch(`${gw.url}${res.headers.get('location') ?? ''}`)).json()) as Job,
    (j) => j.status === 'completed',
  );
  assert.equal(done.status, 'completed');
  assert.equal(done.response?.status_code, 200);
  assert.equal(done.response?.body.choices[0]?.message.content, answerText(1, 'hello async', 5));
});

test('Idempotency-Key returns the first job for a resubmission and refuses the key with a different body', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const body = { model: 'chat', messages: [{ role: 'user', content: 'once' }], max_tokens: 3 };
  const a = await submit(gw.url, body, { 'idempotency-key': 'k-1' });
  const b = await submit(gw.url, body, { 'idempotency-key': 'k-1' });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(b.headers.get('x-spillway-idempotent-replay'), 'true');
  assert.equal(((await a.json()) as Job).id, ((await b.json()) as Job).id);
  const c = await submit(gw.url, { ...body, max_tokens: 4 }, { 'idempotency-key': 'k-1' });
  assert.equal(c.status, 409);
  assert.equal(((await c.json()) as { error: { code: string } }).error.code, 'idempotency_key_reused');
});

test('an async request cannot be streamed, and an unknown job id is 404 job_not_found', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const s = await submit(gw.url, { model: 'chat', stream: true, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(s.status, 400);
  assert.equal(((await s.json()) as { error: { code: string } }).error.code, 'unsupported_endpoint');
  const g = await fetch(`${gw.url}/v1/jobs/job_nope`);
  assert.equal(g.status, 404);
  assert.equal(((await g.json()) as { error: { code: string } }).error.code, 'job_not_found');
});

test('without jobs enabled, Prefer: respond-async is ignored and the answer comes at once', async (t) => {
  const { gw } = await startStack(t);
  const res = await submit(gw.url, { model: 'chat', messages: [{ role: 'user', content: 'sync' }], max_tokens: 2 });
  assert.equal(res.status, 200);
});

test('an upload that stalls is refused with 408 after server.body_timeout of silence, and leaves no partial file', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: dir }, { server: { body_timeout: '300ms' } }),
  });
  const boundary = 'spillway-test-boundary';
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      `${gw.url}/v1/files`,
      { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } },
      resolve,
    );
    req.on('error', reject);
    // The purpose field and the start of the file, then nothing more: the connection stays open, silent.
    req.write(
      `--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="in.jsonl"\r\ncontent-type: application/jsonl\r\n\r\n{"custom_id":"a",`,
    );
  });
  assert.equal(res.statusCode, 408);
  const body = JSON.parse(
    await new Promise<string>((resolve) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    }),
  ) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'request_timeout');
  assert.match(body.error.message, /server\.body_timeout/);
  const files = join(dir, 'files');
  assert.deepEqual(existsSync(files) ? readdirSync(files) : [], [], 'no partial upload left behind');
});
