import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { loadConfigFile } from '../../src/config/load.ts';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;
const baseEnv = { ...process.env, DEEPSEEK_API_KEY: '' };

function run(
  args: string[],
  env: NodeJS.ProcessEnv = baseEnv,
): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return { child, out: () => out, err: () => err };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** Resolves with the gateway URL once `spillway start` prints it. */
function listeningUrl(p: ReturnType<typeof run>): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(p.err());
      if (m?.[1]) resolve(m[1]);
    };
    p.child.stderr?.on('data', check);
    p.child.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${p.err()}`)));
  });
}

test('spillway start with no config and no key serves a labelled embedded simulator, and SIGTERM exits 0', async (t) => {
  const p = run(['start', '--port', '0']);
  t.after(() => p.child.kill('SIGKILL'));
  const url = await listeningUrl(p);
  assert.match(p.err(), /upstream: embedded simulator/);
  assert.match(p.err(), /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
  assert.match(p.out(), /SIMULATED upstream, not a real model/);
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
  const r = await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'Hello' }],
    max_tokens: 5,
  });
  assert.equal(r.model, 'deepseek-chat');
  assert.ok((r.choices[0]?.message.content ?? '').length > 0);
  p.child.kill('SIGTERM');
  assert.equal(await exitCode(p.child), 0);
  assert.match(p.out(), /drained; exiting/);
});

test('a port already in use is one clear line and exit 1', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const port = (blocker.address() as AddressInfo).port;
  const p = run(['start', '--port', String(port)]);
  assert.equal(await exitCode(p.child), 1);
  assert.equal(
    p.err().trim(),
    `spillway: cannot listen on 127.0.0.1:${port}: the port is already in use (set server.port or pass --port)`,
  );
});

test('check-config prints the resolved config with secrets masked; a bad file exits 1 naming the key', async () => {
  const ok = run(['check-config', 'examples/spillway.yaml'], {
    ...baseEnv,
    DEEPSEEK_API_KEY: 'sk-live-very-secret-123456',
  });
  assert.equal(await exitCode(ok.child), 0, ok.err());
  assert.match(ok.out(), /examples\/spillway\.yaml: valid/);
  assert.match(ok.out(), /api_key: "\*\*\*\*3456"/);
  assert.doesNotMatch(ok.out(), /very-secret/);
  assert.match(ok.out(), /first_token: auto/, 'defaults are filled in');
  const bad = run(['check-config', 'examples/spillway.yaml'], baseEnv);
  assert.equal(await exitCode(bad.child), 1);
  assert.match(
    bad.err(),
    /invalid config examples\/spillway\.yaml:\n {2}- upstreams\[0\]\.api_key \(line 9\): environment variable DEEPSEEK_API_KEY is not set/,
  );
});

test('unknown commands and flags are usage errors with exit 2', async () => {
  const a = run(['frobnicate']);
  assert.equal(await exitCode(a.child), 2);
  assert.match(a.err(), /unknown command 'frobnicate'/);
  const b = run(['start', '--prot', '1']);
  assert.equal(await exitCode(b.child), 2);
  assert.match(b.err(), /spillway start: .*--prot/);
  const h = run(['help']);
  assert.equal(await exitCode(h.child), 0);
  for (const c of ['start', 'check-config', 'mock']) assert.match(h.out(), new RegExp(`\\n  ${c} `));
});

test('every example config loads', () => {
  const env = { DEEPSEEK_API_KEY: 'sk-x', TEAM_A_KEY: 'team-a-key-123' };
  const files = readdirSync('examples').filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 2);
  for (const f of files) assert.ok(loadConfigFile(`examples/${f}`, env), f);
});
