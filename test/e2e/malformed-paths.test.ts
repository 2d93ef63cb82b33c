import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';
import { isOpenAIError, rawRequest } from '../helpers/raw-http.ts';

const BAD_PATHS = [
  '/dashboard/assets/%E0%A4%A',
  '/admin/upstreams/%E0%A4%A',
  '/admin/upstreams/%E0%A4%A/drain',
  '/admin/jobs/items/%FF',
  '/v1/files/%E0%A4%A',
  '/v1/batches/%C0',
  '/files/%E0%A4%A/content',
  '/v1/jobs/%',
  '/v1/chat/completions%E0',
  '/healthz%',
  '//[',
];

test('malformed percent-encoding in any path answers 400 invalid_request and the gateway stays up', async (t) => {
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: tempDataDir(t) }) });
  for (const path of BAD_PATHS) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const a = await rawRequest(
        gw.port,
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(a.status, 400, `${method} ${path}: ${a.raw}`);
      assert.ok(isOpenAIError(a.body), `${method} ${path}: ${a.body}`);
      assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'invalid_request');
    }
  }
  const ok = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(ok.status, 200);
});
