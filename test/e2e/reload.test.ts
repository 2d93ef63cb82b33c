import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stringify } from 'yaml';
import OpenAI from 'openai';
import { startMock, type MockServer } from '../../src/mock/server.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import type { ReloadResult } from '../../src/lifecycle/reload-swap.ts';
import { createLogger } from '../../src/observe/log.ts';

async function mocks(t: TestContext, n: number): Promise<MockServer[]> {
  const out: MockServer[] = [];
  t.after(() => Promise.all(out.map((m) => m.close())));
  // Slow enough (≈ 100 ms an answer) that every reload finds requests in flight.
  for (let i = 0; i < n; i++) out.push(await startMock({ seed: i + 1, ttftMs: 40, tokenMs: 4 }));
  return out;
}

function tempFile(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'spillway.yaml');
}

/** A config over the given mocks; `variant` changes weights, caps and which upstreams serve, as reloads would. */
function configYaml(urls: string[], variant: number): string {
  const used = variant % 3 === 2 ? urls.slice(0, 1) : urls; // every third config drops an upstream that has requests in flight
  return stringify({
    admin: { request_log_size: 50 + variant },
    upstreams: used.map((url, i) => ({
      name: `mock${i}`,
      url: `${url}/v1`,
      max_concurrency: 3 + (variant % 3),
      weight: 1 + ((i + variant) % 3),
    })),
    models: { chat: { routes: used.map((_u, i) => ({ upstream: `mock${i}` })) } },
  });
}

test('reloading the config repeatedly under load loses no request, and replaced pipelines are closed', async (t) => {
  const ms = await mocks(t, 2);
  const urls = ms.map((m) => m.url);
  const file = tempFile(t);
  writeFileSync(file, configYaml(urls, 0));
  const gw = await startGateway(loadConfigFile(file), { port: 0, configFile: file, log: createLogger('silent') });
  t.after(() => gw.shutdown(0));
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });

  const TOTAL = 240;
  const WORKERS = 12;
  let started = 0;
  const failures: string[] = [];
  let completed = 0;
  const worker = async () => {
    while (started < TOTAL) {
      const i = started++;
      try {
        if (i % 2 === 0) {
          const r = await client.chat.completions.create({
            model: 'chat',
            messages: [{ role: 'user', content: `r${i}` }],
            max_tokens: 12,
          });
          assert.ok((r.choices[0]?.message.content ?? '').length > 0);
          assert.equal(r.choices[0]?.finish_reason, 'length');
        } else {
          const s = await client.chat.completions.create({
            model: 'chat',
            messages: [{ role: 'user', content: `r${i}` }],
            max_tokens: 12,
            stream: true,
          });
          let text = '';
          let finish: string | null | undefined;
          for await (const c of s) {
            text += c.choices[0]?.delta.content ?? '';
            finish ??= c.choices[0]?.finish_reason;
          }
          assert.ok(text.length > 0 && finish === 'length', `stream ${i} complete`);
        }
        completed++;
      } catch (err) {
        failures.push(`request ${i}: ${(err as Error).message}`);
      }
    }
  };
  const load = Promise.all(Array.from({ length: WORKERS }, worker));

  // Reload while the load runs: each reload waits for fresh traffic, so it always lands mid-load.
  const results: ReloadResult[] = [];
  for (let v = 1; v <= 9 && started < TOTAL; v++) {
    const mark = completed;
    while (completed < mark + 8 && started < TOTAL) await new Promise((r) => setImmediate(r));
    writeFileSync(file, configYaml(urls, v));
    const res = await fetch(`${gw.url}/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    results.push((await res.json()) as ReloadResult);
  }
  await load;

  assert.deepEqual(failures, [], 'every request succeeded');
  assert.equal(completed, TOTAL);
  assert.ok(results.length >= 5, `${results.length} reloads happened during the load`);
  assert.ok(
    results.some((r) => r.inFlightOnOld > 0),
    'some reload swapped pipelines with requests in flight on the old one',
  );
  assert.ok(results.some((r) => r.changed.includes('upstreams')));
  // The last config is in force.
  assert.equal(gw.config.admin.requestLogSize, 50 + results.length);
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(text, new RegExp(`spillway_config_reloads_total\\{result="ok"\\} ${results.length}`));
  // Twelve clients exceed the caps (3–5 per upstream): requests waited in the queues, across swaps.
  const queued = Number(/spillway_queue_wait_seconds_count\{priority="normal"\} (\d+)/.exec(text)?.[1] ?? 0);
  assert.ok(queued > 0, 'some requests waited in a queue');
  // Every replaced pipeline finished its requests and was closed.
  await gw.reloadsSettled();
  assert.equal(gw.replacedStillFinishing, 0);
  // Every slot taken was given back, whichever pipeline took it.
  for (const u of gw.runtime.balancer.snapshot()) assert.equal(u.inFlight, 0, `${u.name} in flight after the load`);
  assert.equal(gw.runtime.inFlight(), 0);
});

test('an invalid config file is refused with the precise config error and the config in force stays', async (t) => {
  const ms = await mocks(t, 1);
  const file = tempFile(t);
  writeFileSync(file, configYaml([ms[0]?.url ?? ''], 0));
  const gw = await startGateway(loadConfigFile(file), { port: 0, configFile: file, log: createLogger('silent') });
  t.after(() => gw.shutdown(0));
  writeFileSync(
    file,
    'upstreams:\n  - name: mock0\n    url: http://127.0.0.1:1/v1\n    max_concurrency: -3\nmodels:\n  chat:\n    routes: [{ upstream: mock0 }]\n',
  );
  const res = await fetch(`${gw.url}/admin/reload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.status, 422);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'config_invalid');
  assert.match(body.error.message, /upstreams\[0\]\.max_concurrency \(line 4\): got -3/);
  assert.match(body.error.message, /config in force was kept/);
  const config = (await (await fetch(`${gw.url}/admin/config`)).json()) as {
    upstreams: { url: string; max_concurrency: number }[];
  };
  assert.equal(config.upstreams[0]?.max_concurrency, 3, 'the old config is still in force');
  const ok = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'still served' }] }),
  });
  assert.equal(ok.status, 200);
  assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_config_reloads_total\{result="invalid"\} 1/);
});

test('a gateway started without a config file answers a reload with reload_unavailable', async (t) => {
  const ms = await mocks(t, 1);
  const file = tempFile(t);
  writeFileSync(file, configYaml([ms[0]?.url ?? ''], 0));
  const gw = await startGateway(loadConfigFile(file), { port: 0, log: createLogger('silent') });
  t.after(() => gw.shutdown(0));
  const res = await fetch(`${gw.url}/admin/reload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.status, 409);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'reload_unavailable');
});

test('spillway start reloads its config file on SIGHUP, and keeps it when the new file is invalid', async (t) => {
  const ms = await mocks(t, 1);
  const file = tempFile(t);
  writeFileSync(file, configYaml([ms[0]?.url ?? ''], 0));
  const child = spawn(
    process.execPath,
    [new URL('../../bin/spillway.js', import.meta.url).pathname, 'start', '--config', file, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEEPSEEK_API_KEY: '' } },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  const lines: string[] = [];
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    lines.push(
      ...c
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${err}`)));
  });
  const logged = (msg: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (out.includes(`"msg":"${msg}"`)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });

  writeFileSync(file, configYaml([ms[0]?.url ?? ''], 4));
  const reloaded = logged('config reloaded');
  child.kill('SIGHUP');
  await reloaded;
  const after = (await (await fetch(`${url}/admin/config`)).json()) as { admin: { request_log_size: number } };
  assert.equal(after.admin.request_log_size, 54);

  writeFileSync(file, 'upstreams: []\n');
  const refused = logged('config reload refused; the config in force is kept');
  child.kill('SIGHUP');
  await refused;
  const still = (await (await fetch(`${url}/admin/config`)).json()) as { admin: { request_log_size: number } };
  assert.equal(still.admin.request_log_size, 54);
  assert.ok(
    lines.some((l) => l.includes('config_invalid') || l.includes('invalid config')),
    'the log says why',
  );

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('a reload applies a new admin key at once and reports settings that need a restart', async (t) => {
  const ms = await mocks(t, 1);
  const file = tempFile(t);
  const url = ms[0]?.url ?? '';
  const base = {
    upstreams: [{ name: 'mock0', url: `${url}/v1` }],
    models: { chat: { routes: [{ upstream: 'mock0' }] } },
  };
  writeFileSync(file, stringify({ ...base, admin: { key: 'first-admin-key-1' } }));
  const gw = await startGateway(loadConfigFile(file), { port: 0, configFile: file, log: createLogger('silent') });
  t.after(() => gw.shutdown(0));
  writeFileSync(file, stringify({ ...base, server: { port: 1 }, admin: { key: 'second-admin-key-2' } }));
  const res = await fetch(`${gw.url}/admin/reload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer first-admin-key-1' },
  });
  assert.equal(res.status, 200);
  const result = (await res.json()) as ReloadResult;
  assert.deepEqual(result.restartNeeded, ['server.port']);
  assert.deepEqual(result.changed.sort(), ['admin', 'server']);
  assert.equal(
    (await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer first-admin-key-1' } })).status,
    401,
  );
  assert.equal(
    (await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer second-admin-key-2' } })).status,
    200,
  );
  assert.ok(gw.url.endsWith(`:${gw.port}`), 'still listening where it was');
});
