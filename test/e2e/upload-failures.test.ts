import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';
import { isOpenAIError, rawRequest } from '../helpers/raw-http.ts';

const B = 'bNdRy';
const head = (len: number) =>
  `POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${len}\r\n\r\n`;
const cutForm = `--${B}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"custom_id":"1"}\n`;

test('an upload cut before its closing boundary answers 400, keeps the gateway up and leaves no file', async (t) => {
  const dataDir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dataDir }) });
  const a = await rawRequest(gw.port, head(Buffer.byteLength(cutForm)) + cutForm);
  assert.equal(a.status, 400, a.raw);
  assert.ok(isOpenAIError(a.body), a.body);
  assert.deepEqual(readdirSync(join(dataDir, 'files')), []);
  const ok = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(ok.status, 200);
});

test('an upload the data directory cannot take answers 503 store_unavailable, not 500', async (t) => {
  const dataDir = tempDataDir(t);
  writeFileSync(join(dataDir, 'files'), 'a file where the files directory should be');
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dataDir }) });
  const form = `${cutForm}\r\n--${B}--\r\n`;
  const a = await rawRequest(gw.port, head(Buffer.byteLength(form)) + form);
  assert.equal(a.status, 503, a.raw);
  assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'store_unavailable');
});
