import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText, resolveConfig } from '../../../src/config/load.ts';
import { isLoopbackHost } from '../../../src/config/exposure.ts';
import { ConfigError } from '../../../src/errors.ts';
import { startGateway } from '../../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../../src/observe/log.ts';

const base =
  'upstreams: [{ name: a, url: "http://127.0.0.1:9000/v1" }]\nmodels: { chat: { routes: [{ upstream: a }] } }\n';
const keys = 'auth:\n  keys: [{ key: gateway-key-1, tenant: t }]\ntenants: { t: {} }\n';
const adminKey = 'admin: { key: admin-key-123 }\n';

test('loopback hosts are told apart from every other listen address', () => {
  const table: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['[::]', false],
    ['10.0.0.5', false],
    ['192.168.1.2', false],
    ['gateway.internal', false],
    ['', false],
  ];
  for (const [host, loopback] of table) assert.equal(isLoopbackHost(host), loopback, host);
});

test('a non-loopback server.host without auth.keys and admin.key is refused, naming the file, key, value and the way out', () => {
  assert.throws(
    () => parseConfigText(`server: { host: 0.0.0.0 }\n${base}`, 'conf/spillway.yaml', {}),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^invalid config conf\/spillway\.yaml:/);
      assert.match(
        e.message,
        /server\.host \(line 1\): got "0\.0\.0\.0", which is not a loopback address, so Spillway refuses to start without auth\.keys .* and admin\.key/,
      );
      assert.match(e.message, /server\.allow_unauthenticated: true/);
      return true;
    },
  );
  // Only what is missing is named.
  assert.throws(
    () => parseConfigText(`server: { host: 0.0.0.0 }\n${adminKey}${base}`, 'f.yaml', {}),
    (e: Error) => {
      assert.match(e.message, /without auth\.keys/);
      assert.doesNotMatch(e.message, /admin\.key \(/);
      return true;
    },
  );
  assert.throws(
    () => parseConfigText(`server: { host: 10.1.2.3 }\n${keys}${base}`, 'f.yaml', {}),
    /got "10\.1\.2\.3".*without admin\.key/,
  );
});

test('a non-loopback host starts with both keys, or with server.allow_unauthenticated: true, and loopback needs neither', () => {
  assert.equal(
    parseConfigText(`server: { host: 0.0.0.0 }\n${adminKey}${keys}${base}`, 'f.yaml', {}).server.host,
    '0.0.0.0',
  );
  const open = parseConfigText(`server: { host: 0.0.0.0, allow_unauthenticated: true }\n${base}`, 'f.yaml', {});
  assert.equal(open.server.allowUnauthenticated, true);
  assert.equal(parseConfigText(base, 'f.yaml', {}).server.allowUnauthenticated, false);
  assert.equal(parseConfigText(`server: { host: localhost }\n${base}`, 'f.yaml', {}).auth.keys.length, 0);
});

test('startGateway refuses a --host override that exposes a keyless config, before it listens', async () => {
  const config = resolveConfig(
    { upstreams: [{ name: 'a', url: 'http://127.0.0.1:9/v1' }], models: { chat: { routes: [{ upstream: 'a' }] } } },
    'test config',
    {},
  );
  await assert.rejects(
    startGateway(config, { host: '0.0.0.0', port: 0, log: createLogger('silent') }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /the --host option: got "0\.0\.0\.0", which is not a loopback address/);
      return true;
    },
  );
});

test('spillway start --host 0.0.0.0 with no config exits 1 with the refusal instead of serving an open gateway', async () => {
  const bin = new URL('../../../bin/spillway.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--host', '0.0.0.0'], {
    env: { ...process.env, DEEPSEEK_API_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 1, err);
  assert.match(err, /the --host option: got "0\.0\.0\.0".*refuses to start without auth\.keys/);
  assert.doesNotMatch(err, /listening on/);
});

test('a reload that would take the keys away from a non-loopback config is refused and the keys stay in force', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-exposure-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'spillway.yaml');
  const exposed = `server: { host: 0.0.0.0 }\n${base}`;
  writeFileSync(file, `${exposed}${adminKey}${keys}`);
  // Listens on loopback for the test (--host), the file says 0.0.0.0: what the file says is what a reload checks.
  const gw = await startGateway(loadConfigFile(file), {
    host: '127.0.0.1',
    port: 0,
    configFile: file,
    log: createLogger('silent'),
  });
  t.after(() => gw.shutdown(0));
  writeFileSync(file, exposed);
  const res = await fetch(`${gw.url}/admin/reload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer admin-key-123' },
  });
  assert.equal(res.status, 422);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'config_invalid');
  assert.match(body.error.message, /server\.host \(line 1\): got "0\.0\.0\.0", which is not a loopback address/);
  assert.equal(gw.config.auth.keys.length, 1, 'the keys in force are kept');
  assert.equal((await fetch(`${gw.url}/admin/config`)).status, 401, 'the admin key still guards the admin API');
});
