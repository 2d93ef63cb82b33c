import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';

const line = (i: number, content = `item ${i}`) =>
  JSON.stringify({
    custom_id: `r${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'chat', messages: [{ role: 'user', content }], max_tokens: 2 },
  });

async function upload(url: string, key: string, text: string): Promise<{ status: number; code?: string; id?: string }> {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([text]), 'in.jsonl');
  const res = await fetch(`${url}/v1/files`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json()) as { id?: string; error?: { code: string } };
  return {
    status: res.status,
    ...(body.error === undefined ? {} : { code: body.error.code }),
    ...(body.id === undefined ? {} : { id: body.id }),
  };
}

const keyed =
  (dir: string, jobs: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  (urls: string[]) =>
    jobsConfig(
      urls,
      { data_dir: dir, ...jobs },
      {
        auth: {
          keys: [
            { key: 'key-alpha-000001', tenant: 'alpha' },
            { key: 'key-beta-0000001', tenant: 'beta' },
          ],
        },
        tenants: { alpha: {}, beta: {} },
        ...extra,
      },
    );

test('a tenant past jobs.tenant_max_files gets 507 upload_quota_exceeded; another tenant still uploads; deleting frees a slot', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: keyed(dir, { tenant_max_files: 2 }) });
  const first = await upload(gw.url, 'key-alpha-000001', `${line(1)}\n`);
  assert.equal(first.status, 200);
  assert.equal((await upload(gw.url, 'key-alpha-000001', `${line(2)}\n`)).status, 200);
  assert.deepEqual(await upload(gw.url, 'key-alpha-000001', `${line(3)}\n`), {
    status: 507,
    code: 'upload_quota_exceeded',
  });
  assert.equal((await upload(gw.url, 'key-beta-0000001', `${line(4)}\n`)).status, 200, 'the quota is per tenant');
  const alpha = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-alpha-000001', maxRetries: 0 });
  await alpha.files.delete(first.id ?? '');
  assert.equal((await upload(gw.url, 'key-alpha-000001', `${line(5)}\n`)).status, 200);
});

test('a tenant past jobs.tenant_max_stored_bytes gets 507 upload_quota_exceeded, and no byte of the refused file stays on disk', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: keyed(dir, { tenant_max_stored_bytes: 4096 }) });
  assert.equal((await upload(gw.url, 'key-alpha-000001', `${line(1, 'a'.repeat(3000))}\n`)).status, 200);
  // Declared larger than what is left: refused before it is read.
  assert.deepEqual(await upload(gw.url, 'key-alpha-000001', `${line(2, 'b'.repeat(3000))}\n`), {
    status: 507,
    code: 'upload_quota_exceeded',
  });
  assert.equal((await upload(gw.url, 'key-beta-0000001', `${line(3, 'c'.repeat(3000))}\n`)).status, 200);
  const files = readdirSync(join(dir, 'files'));
  assert.equal(files.length, 2, `one file per tenant: ${files.join(', ')}`);
  assert.ok(
    files.every((f) => !f.endsWith('.part')),
    'nothing half-written',
  );
});

test('a batch input line longer than server.body_limit_bytes is refused at creation with its line number', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: keyed(dir, {}, { server: { body_limit_bytes: 2048 } }) });
  const up = await upload(gw.url, 'key-alpha-000001', `${line(1)}\n${line(2, 'z'.repeat(4000))}\n${line(3)}\n`);
  assert.equal(up.status, 200);
  const res = await fetch(`${gw.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer key-alpha-000001' },
    body: JSON.stringify({ input_file_id: up.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; param: string; message: string } };
  assert.equal(body.error.code, 'invalid_batch_line');
  assert.equal(body.error.param, 'line 2');
  assert.match(body.error.message, /longer than server\.body_limit_bytes \(2048 bytes\)/);
});

test('a chunked upload (no content-length) is cut at the quota while it streams: 507 upload_quota_exceeded, nothing kept', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: keyed(dir, { tenant_max_stored_bytes: 4096 }) });
  const boundary = 'quota-boundary-1234';
  const head = `--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="in.jsonl"\r\ncontent-type: application/octet-stream\r\n\r\n`;
  const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      `${gw.url}/v1/files`,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          authorization: 'Bearer key-alpha-000001',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(head);
    for (let i = 0; i < 8; i++) req.write(`${line(i, 'q'.repeat(900))}\n`);
    req.end(`\r\n--${boundary}--\r\n`);
  });
  assert.equal(status.status, 507, status.body);
  assert.equal((JSON.parse(status.body) as { error: { code: string } }).error.code, 'upload_quota_exceeded');
  assert.deepEqual(readdirSync(join(dir, 'files')), [], 'nothing kept, no .part file');
});
