import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, fixedUpstream } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;

async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SPILLWAY_URL: '', SPILLWAY_ADMIN_KEY: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

test('spillway batch submit --wait uploads, shows progress, and writes the output file next to the input', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const input = join(dir, 'work.jsonl');
  writeFileSync(
    input,
    Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        custom_id: `w${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'chat', messages: [{ role: 'user', content: `w${i}` }], max_tokens: 2 },
      }),
    ).join('\n'),
  );
  const r = await cli(['batch', 'submit', input, '--wait', '--poll', '0.1', '--url', gw.url]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^batch_\w+\n$/);
  assert.match(r.err, /\[#{30}\] 20\/20 100% {2}0 failed {2}completed/);
  const lines = readFileSync(join(dir, 'work.output.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id).sort(),
    Array.from({ length: 20 }, (_, i) => `w${i}`).sort(),
  );
});

test('spillway jobs ls, show, retry and purge work on the dead-letter list', async (t) => {
  const dir = tempDataDir(t);
  const upstream = await fixedUpstream(t, (_req, res) =>
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end('{"error":{"message":"always broken","type":"server_error","code":null}}'),
  );
  const { gw } = await startStack(t, {
    config: () =>
      jobsConfig(
        [upstream.url],
        { data_dir: dir, max_attempts: 1 },
        { retry: { max_attempts: 1 }, admin: { key: 'admin-key-123' } },
      ),
  });
  for (const n of [1, 2]) {
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `d${n}` }] }),
    });
  }
  const target = ['--url', gw.url, '--admin-key', 'admin-key-123'];
  const auth = { authorization: 'Bearer admin-key-123' };
  const listed = await pollUntil(
    async () =>
      (await (await fetch(`${gw.url}/admin/jobs/dead`, { headers: auth })).json()) as { data: { id: string }[] },
    (d) => d.data.length === 2,
  );
  const dead = listed.data;
  assert.equal(dead.length, 2);
  const table = await cli(['jobs', 'ls', ...target]);
  assert.match(table.out, /dead 2/);
  assert.match(table.out, /always broken/);
  const show = await cli(['jobs', 'show', dead[0]?.id ?? '', ...target]);
  assert.equal(show.code, 0);
  assert.match(show.out, /state\s+dead/);
  const retry = await cli(['jobs', 'retry', dead[0]?.id ?? '', ...target]);
  assert.equal(retry.code, 0);
  assert.match(retry.out, /requeued/);
  const purge = await cli(['jobs', 'purge', '--all', ...target]);
  assert.equal(purge.code, 0);
  assert.match(purge.out, /purged [12] dead item/);
  const noKey = await cli(['jobs', 'ls', '--url', gw.url]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.err, /admin key/);
});
