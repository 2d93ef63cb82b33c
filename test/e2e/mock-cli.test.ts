import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startMock } from '../../src/mock/server.ts';

// Runs the command module directly (not bin/spillway.js), so this test depends only on the mock's own files.
const COMMAND = fileURLToPath(new URL('../../src/cli/mock.ts', import.meta.url));
const RUNNER = 'const { command } = await import(process.argv[1]); process.exitCode = await command.run(process.argv.slice(2));';

function spawnMock(t: { after: (fn: () => void) => void }, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER, COMMAND, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const res = await fetch(`${m[1]}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'cli' }] }) });
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
  assert.match(stderr(), /^spillway mock: cannot listen on 127\.0\.0\.1:\d+: the port is already in use \(pass --port\)\n$/);
});
