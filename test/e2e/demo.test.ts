import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;

test('spillway demo runs offline, prints per-side progress and a direct / spillway / best-possible summary, and exits 0 by itself', async (t) => {
  const started = performance.now();
  // stdout is a pipe, not a TTY: the view prints plain lines instead of redrawing.
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '3', '--deadline', '5'], {
    env: { ...process.env, DEEPSEEK_API_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `exit code; stderr:\n${err}\nstdout:\n${out}`);
  assert.ok(performance.now() - started < 45_000, 'finishes well under a minute');

  assert.match(out, /spillway {2}http:\/\/127\.0\.0\.1:\d+\/v1 in front of fleet 2/);
  assert.match(out, /metrics {3}http:\/\/127\.0\.0\.1:\d+\/metrics/);
  assert.ok(!out.includes('\x1b['), 'no cursor movement when stdout is not a terminal');
  assert.match(
    out,
    /^\[ {2}\ds\] direct {4}sent \d+, answered \d+, success [\d.]+%, p99 .+, silent truncations \d+, upstream requests .+; errors: .+$/m,
  );
  assert.match(out, /^\[ {2}\ds\] spillway {2}sent \d+, answered \d+, success [\d.]+%, p99 .+; errors: .+$/m);
  assert.match(out, /^\| demo \| direct \| spillway \| best possible \|$/m);
  const requests = /^\| requests \| (\d+) \| (\d+) \| (\d+) \|$/m.exec(out);
  assert.ok(requests, out);
  assert.equal(requests[1], requests[2], 'both sides got the same planned traffic');
  assert.equal(requests[3], requests[1], 'the best possible replays the same arrivals');
  assert.ok(Number(requests[1]) > 50, `about 3 s at ~50 req/s, got ${requests[1]}`);
  assert.match(out, /^\| success % \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$/m);
  assert.match(out, /^\| silent truncations \| \d+ \| \d+ \| — \|$/m);
});

test('spillway demo refuses a bad flag with a usage error and exit 2', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--rate-x', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 2);
  assert.match(err, /spillway demo: --rate-x expects a number above 0 and at most 4, got "lots"/);
});
