import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startMock } from '../../src/mock/server.ts';

// Runs the command module directly (not bin/spillway.js), so this test depends only on the mock's own files.
const COMMAND = fileURLToPath(new URL('../../src/cli/mock.ts', import.meta.url));
const RUNNER =
  'const { command } = await import(process.argv[1]); process.exitCode = await command.run(process.argv.slice(2));';

function spawnMock(t: { after: (fn: () => void) => void }, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER, COMMAND, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => (text += d));
  return () => text;
}

test('spillway mock prints one listening line, serves, and exits 0 on SIGTERM', async (t) => {
  const child = spawnMock(t, ['--port', '0', '--profile', 'busy', '--ttft-ms', '0', '--token-ms', '0']);
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  const m = /^spillway mock listening on (http:\/\/127\.0\.0\.1:\d+) \(profile busy\)$/.exec(line);
  assert.ok(m, line);
  const res = await fetch(`${m[1]}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ messages: [{ role: 'user', content: 'cli' }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
});

test('spillway mock on a port in use says so in one line and exits 1', async (t) => {
  const taken = await startMock();
  t.after(() => taken.close());
  const child = spawnMock(t, ['--port', String(taken.port)]);
  const stderr = collect(child.stderr);
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.match(
    stderr(),
    /^spillway mock: cannot listen on 127\.0\.0\.1:\d+: the port is already in use \(pass --port\)\n$/,
  );
});

function fleetFile(t: { after: (fn: () => void) => void }, yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-fleet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, yaml);
  return file;
}

test('spillway mock --fleet starts every upstream of the YAML file and prints one line each', async (t) => {
  const file = fleetFile(
    t,
    'upstreams:\n  - { name: main, profile: busy, ttft_ms: 0, token_ms: 0 }\n  - { name: spare, fail_every: 1 }\n',
  );
  const child = spawnMock(t, ['--fleet', file]);
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const urls: Record<string, string> = {};
  for (let i = 0; i < 2; i++) {
    const { value } = (await lines.next()) as { value: string };
    const m = /^(\S+) listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(value);
    assert.ok(m, value);
    urls[m[1] as string] = m[2] as string;
  }
  assert.deepEqual(Object.keys(urls), ['main', 'spare']);
  const status = async (url: string | undefined) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'f' }] }),
    });
    await res.text();
    return res.status;
  };
  assert.equal(await status(urls.main), 200);
  assert.equal(await status(urls.spare), 500, 'fail_every: 1 fails its first request with a 500');
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
});

test('spillway mock --fleet with a bad file names the file, key, line, value and expectation, and exits 1', async (t) => {
  const file = fleetFile(t, 'upstreams:\n  - name: main\n    ttft_ms: soon\n');
  const child = spawnMock(t, ['--fleet', file]);
  const stderr = collect(child.stderr);
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.ok(stderr().includes(file), stderr());
  assert.match(stderr(), /upstreams\[0\]\.ttft_ms \(line 3\): got "soon", expected a whole number of milliseconds/);
});
