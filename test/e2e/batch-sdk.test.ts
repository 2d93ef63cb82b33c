import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const N = 500;

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; body: { choices: { message: { content: string } }[] } };
  error: unknown;
}

test('the official openai client runs a 500-item batch end to end: upload, create, poll, download; every line matches its custom_id', async (t) => {
  const dir = tempDataDir(t);
  const { gw, client } = await startStack(t, {
    mocks: [{ ttftMs: 2, slots: 64 }],
    config: (urls) => jobsConfig(urls, { data_dir: dir }),
  });
  const input = join(dir, 'input.jsonl');
  const lines = Array.from({ length: N }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'chat',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: `item ${i}` },
        ],
        max_tokens: 4,
      },
    }),
  );
  writeFileSync(input, `${lines.join('\n')}\n`);
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  assert.equal(file.purpose, 'batch');
  assert.equal((await client.files.retrieve(file.id)).bytes, file.bytes);
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { run: 'e2e' },
  });
  assert.equal(batch.object, 'batch');
  assert.equal(batch.request_counts?.total, N);
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'completed',
    1200,
  );
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: N, completed: N, failed: 0 });
  assert.equal(done.error_file_id, null);
  assert.deepEqual(done.metadata, { run: 'e2e' });
  assert.ok(done.output_file_id !== null && done.output_file_id !== undefined);
  const text = await (await client.files.content(done.output_file_id)).text();
  const out = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OutputLine);
  assert.equal(out.length, N);
  assert.equal(new Set(out.map((o) => o.custom_id)).size, N, 'each custom_id once');
  for (const o of out) {
    const i = Number(o.custom_id.slice(4));
    assert.equal(o.response.status_code, 200);
    // The mock's answer is a pure function of the prompt: each line carries the answer to its own request.
    assert.equal(
      o.response.body.choices[0]?.message.content,
      answerText(1, `You are terse.\nitem ${i}`, 4),
      o.custom_id,
    );
  }
  const list = await client.batches.list({ limit: 10 });
  assert.ok(list.data.some((b) => b.id === batch.id));
  const files = await client.files.list();
  assert.deepEqual(new Set(files.data.map((f) => f.id)), new Set([file.id, done.output_file_id]));
  assert.equal((await client.files.delete(file.id)).deleted, true);
  await assert.rejects(client.files.retrieve(file.id), (e: { status?: number }) => e.status === 404);
  assert.ok(gw.metrics !== undefined);
});

test('a batch with an invalid line is refused naming the line, and an unknown batch is 404 batch_not_found', async (t) => {
  const dir = tempDataDir(t);
  const { client } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const input = join(dir, 'bad.jsonl');
  writeFileSync(
    input,
    `${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'chat', messages: [] } })}\n{not json\n`,
  );
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  await assert.rejects(
    client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    (e: { status?: number; code?: string; message: string }) => {
      assert.equal(e.status, 400);
      assert.equal(e.code, 'invalid_batch_line');
      assert.match(e.message, /Line 2/);
      return true;
    },
  );
  await assert.rejects(
    client.batches.retrieve('batch_nope'),
    (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'batch_not_found',
  );
  await assert.rejects(
    client.files.retrieve('file-nope'),
    (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'file_not_found',
  );
});

test("the Batches API refuses a body that is no JSON object in its own words, never in the admin API's", async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const post = async (body: string) => {
    const res = await fetch(`${gw.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, error: ((await res.json()) as { error: { code: string; message: string } }).error };
  };
  const cases: [body: string, code: string, message: RegExp][] = [
    ['{"endpoint": ', 'invalid_json', /^The request body is not valid JSON/],
    ['[1, 2]', 'invalid_request', /^The request body must be a JSON object\.$/],
    [
      `${'['.repeat(200)}${']'.repeat(200)}`,
      'invalid_request',
      /^The request body nests arrays and objects deeper than 128 levels/,
    ],
  ];
  for (const [body, code, message] of cases) {
    const { status, error } = await post(body);
    assert.equal(status, 400, body.slice(0, 20));
    assert.equal(error.code, code, body.slice(0, 20));
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /admin/i);
  }
});

test('cancelling a batch cancels its queued items; the error file names them batch_cancelled', async (t) => {
  const dir = tempDataDir(t);
  // A run window that is never open keeps every item queued until the cancel.
  const now = new Date();
  const hh = String((now.getUTCHours() + 12) % 24).padStart(2, '0');
  const { client } = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: dir, run_windows: [`${hh}:00-${hh}:01`] }),
  });
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    [0, 1, 2]
      .map((i) =>
        JSON.stringify({
          custom_id: `c${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'chat', messages: [{ role: 'user', content: `c${i}` }] },
        }),
      )
      .join('\n'),
  );
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  const cancelling = await client.batches.cancel(batch.id);
  assert.ok(cancelling.status === 'cancelling' || cancelling.status === 'cancelled');
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'cancelled',
  );
  assert.equal(done.status, 'cancelled');
  assert.deepEqual(done.request_counts, { total: 3, completed: 0, failed: 3 });
  assert.equal(done.output_file_id, null);
  const errors = (await (await client.files.content(done.error_file_id ?? '')).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { custom_id: string; error: { code: string } });
  assert.deepEqual(
    errors.map((e) => [e.custom_id, e.error.code]),
    [
      ['c0', 'batch_cancelled'],
      ['c1', 'batch_cancelled'],
      ['c2', 'batch_cancelled'],
    ],
  );
});

test('past its completion window a batch expires: queued items end as batch_expired in the error file', async (t) => {
  const dir = tempDataDir(t);
  const now = new Date();
  const hh = String((now.getUTCHours() + 12) % 24).padStart(2, '0');
  const { client } = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: dir, run_windows: [`${hh}:00-${hh}:01`] }),
  });
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    [0, 1]
      .map((i) =>
        JSON.stringify({
          custom_id: `e${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'chat', messages: [{ role: 'user', content: `e${i}` }] },
        }),
      )
      .join('\n'),
  );
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '1s' as '24h',
  });
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'expired',
  );
  assert.equal(done.status, 'expired');
  assert.ok(done.expired_at !== null && done.expired_at !== undefined);
  assert.deepEqual(done.request_counts, { total: 2, completed: 0, failed: 2 });
  const errors = (await (await client.files.content(done.error_file_id ?? '')).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { error: { code: string } });
  assert.deepEqual(
    errors.map((e) => e.error.code),
    ['batch_expired', 'batch_expired'],
  );
});

test('answers larger than inline_result_max_bytes are kept in files, and still reach the job and the output file', async (t) => {
  const dir = tempDataDir(t);
  const { gw, client } = await startStack(t, {
    config: (urls) => jobsConfig(urls, { data_dir: dir, inline_result_max_bytes: 64 }),
  });
  const input = join(dir, 'big.jsonl');
  writeFileSync(
    input,
    JSON.stringify({
      custom_id: 'big',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'chat', messages: [{ role: 'user', content: 'long' }], max_tokens: 40 },
    }),
  );
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'completed',
  );
  const [line] = (await (await client.files.content(done.output_file_id ?? '')).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OutputLine);
  assert.equal(line?.response.body.choices[0]?.message.content, answerText(1, 'long', 40));
  assert.deepEqual(
    readdirSync(join(dir, 'results')).filter((f) => f.endsWith('.json')),
    [`${batch.id}.0.json`],
  );
  assert.ok(gw !== undefined);
});
