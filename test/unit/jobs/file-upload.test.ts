import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { receiveUpload, type UploadLimits } from '../../../src/jobs/api/file-upload.ts';
import { SpillwayError } from '../../../src/errors.ts';
import { renderError } from '../../../src/api/render-error.ts';
import { tempDataDir } from '../../helpers/jobs.ts';
import { isOpenAIError, rawRequest } from '../../helpers/raw-http.ts';

const BOUNDARY = 'xYzZY';

function form(content: string, closed = true): string {
  return (
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n${content}` +
    (closed ? `\r\n--${BOUNDARY}--\r\n` : '')
  );
}

function post(body: string, contentLength = Buffer.byteLength(body)): string {
  return `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${contentLength}\r\n\r\n${body}`;
}

/** A real server whose only route stores an upload in `dir`; `settled` resolves with each upload's outcome. */
async function uploadServer(t: TestContext, dir: string, limits: Partial<UploadLimits> = {}) {
  const outcomes: (Error | string)[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    receiveUpload(req, dir, 'f.jsonl', { maxBytes: 1024, idleTimeoutMs: 5_000, totalTimeoutMs: 5_000, ...limits })
      .then(
        (u) => {
          outcomes.push(u.path);
          res.end('ok');
        },
        (e: unknown) => {
          outcomes.push(e as Error);
          renderError(res, e instanceof SpillwayError ? e : new SpillwayError('internal_error', String(e)));
        },
      )
      .finally(() => waiters.shift()?.());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  return { port, outcomes, settled: () => new Promise<void>((r) => (outcomes.length > 0 ? r() : waiters.push(r))) };
}

test('a well-formed upload is stored and leaves no temp file', async (t) => {
  const dir = tempDataDir(t);
  const s = await uploadServer(t, dir);
  const a = await rawRequest(s.port, post(form('{"a":1}\n')));
  assert.equal(a.status, 200, a.raw);
  assert.deepEqual(readdirSync(dir), ['f.jsonl']);
});

test('a form cut before its closing boundary answers 400 and leaves no file', async (t) => {
  const dir = tempDataDir(t);
  const s = await uploadServer(t, dir);
  const a = await rawRequest(s.port, post(form('{"a":1}\n', false)));
  assert.equal(a.status, 400, a.raw);
  assert.ok(isOpenAIError(a.body));
  assert.deepEqual(readdirSync(dir), []);
});

test('a write error (a full disk) answers 507 disk_full and leaves no partial file', async (t) => {
  const dir = tempDataDir(t);
  // The temp file is a link to /dev/full: every write fails with ENOSPC, as on a full disk.
  symlinkSync('/dev/full', join(dir, 'f.jsonl.part'));
  const s = await uploadServer(t, dir, { maxBytes: 1024 * 1024 });
  const a = await rawRequest(s.port, post(form('x'.repeat(200_000))));
  assert.equal(a.status, 507, a.raw);
  assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'disk_full');
  assert.deepEqual(readdirSync(dir), []);
});

test('a data directory that cannot be created answers 503 store_unavailable, not 500', async (t) => {
  const dir = tempDataDir(t);
  writeFileSync(join(dir, 'files'), 'not a directory');
  const s = await uploadServer(t, join(dir, 'files'));
  const a = await rawRequest(s.port, post(form('{"a":1}\n')));
  assert.equal(a.status, 503, a.raw);
  assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'store_unavailable');
});

test('a file over the size limit answers 507 at once and leaves no partial file', async (t) => {
  const dir = tempDataDir(t);
  const s = await uploadServer(t, dir, { maxBytes: 100 });
  const a = await rawRequest(s.port, post(form('x'.repeat(5_000))));
  assert.equal(a.status, 507, a.raw);
  assert.deepEqual(readdirSync(dir), []);
});

test('an upload dripping bytes faster than the pause limit is cut by the total upload time', async (t) => {
  const dir = tempDataDir(t);
  const s = await uploadServer(t, dir, { idleTimeoutMs: 2_000, totalTimeoutMs: 300 });
  const body = form('{"a":1}\n');
  const pieces = [post(body).slice(0, -body.length), ...body.split('')];
  const a = await rawRequest(s.port, pieces, { gapMs: 50, timeoutMs: 5_000 });
  assert.equal(a.status, 408, a.raw);
  assert.match(a.body, /server\.upload_timeout/);
  assert.deepEqual(readdirSync(dir), []);
});

test('a client that disconnects mid-upload leaves no partial file', async (t) => {
  const dir = tempDataDir(t);
  const s = await uploadServer(t, dir, { maxBytes: 1024 * 1024 });
  const body = form('x'.repeat(50_000));
  await rawRequest(s.port, post(body.slice(0, 20_000), Buffer.byteLength(body)), { timeoutMs: 200 });
  await s.settled();
  assert.ok(s.outcomes[0] instanceof SpillwayError);
  assert.equal(existsSync(join(dir, 'f.jsonl.part')), false);
  assert.deepEqual(readdirSync(dir), []);
});
