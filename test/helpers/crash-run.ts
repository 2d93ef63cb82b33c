import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { startMock } from '../../src/mock/server.ts';
import { pollUntil } from './jobs.ts';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;

/** Starts `spillway start --config FILE` as a child process and resolves with its URL once it listens. */
async function startGatewayProcess(t: TestContext, configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${String(code)}: ${err}`)));
  });
  return { child, url };
}

/**
 * The crash drill of docs/jobs.md: a batch of `n` items runs in a real gateway process, which is killed with SIGKILL
 * part-way; a new process on the same store finishes it. Asserts every item completed, each exactly once in the
 * output, and that the simulator generated no item more than twice.
 */
export async function crashDrill(
  t: TestContext,
  dataDir: string,
  n: number,
  jobs: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ completedAtKill: number }> {
  const mock = await startMock({ countPrompts: true, ttftMs: 20, tokenMs: 1, slots: 512 });
  t.after(() => mock.close());
  const configFile = join(dataDir, 'spillway.yaml');
  writeFileSync(
    configFile,
    stringify({
      log: { level: 'warn', requests: false },
      upstreams: [{ name: 'mock', url: `${mock.url}/v1`, max_concurrency: 256 }],
      models: { chat: { routes: [{ upstream: 'mock', model: 'chat' }] } },
      jobs: { enabled: true, data_dir: dataDir, lease: '1s', poll_interval: '50ms', ...jobs },
      ...extra,
    }),
  );
  const input = join(dataDir, 'input.jsonl');
  writeFileSync(
    input,
    `${Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        custom_id: `c-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'chat', messages: [{ role: 'user', content: `crash item ${i}` }], max_tokens: 3 },
      }),
    ).join('\n')}\n`,
  );

  const first = await startGatewayProcess(t, configFile);
  let client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  // Kill it hard once a fifth of the batch is done: items are in flight, in the store, and in the output.
  const atKill = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => (b.request_counts?.completed ?? 0) >= n / 5,
    600,
    20,
  );
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const completedAtKill = atKill.request_counts?.completed ?? 0;
  assert.ok(completedAtKill < n, `the kill came mid-batch (${completedAtKill} of ${n} done)`);

  const second = await startGatewayProcess(t, configFile);
  client = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'completed',
    1200,
    50,
  );
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: n, completed: n, failed: 0 });
  const lines = (await (await client.files.content(done.output_file_id ?? '')).text()).trim().split('\n');
  assert.equal(lines.length, n, 'one output line per item');
  const ids = new Set(lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id));
  assert.equal(ids.size, n, 'no custom_id twice in the output');
  const generated = mock.stats().generatedByPrompt;
  let most = 0;
  for (let i = 0; i < n; i++) {
    const c = generated[`crash item ${i}`] ?? 0;
    assert.ok(c >= 1, `item ${i} was generated`);
    most = Math.max(most, c);
  }
  assert.ok(most <= 2, `no item generated more than twice (most: ${most})`);
  const twice = Object.values(generated).filter((c) => c === 2).length;
  t.diagnostic(
    `killed with ${completedAtKill} of ${n} done; ${twice} items generated twice (cut by the kill), none more`,
  );
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
  return { completedAtKill };
}
