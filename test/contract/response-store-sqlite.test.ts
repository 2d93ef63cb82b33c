import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteResponseStore } from '../../src/api/responses/sqlite-response-store.ts';
import { responseStoreContract } from './response-store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'spillway-responses-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

responseStoreContract('SqliteResponseStore', (limits) =>
  Promise.resolve(new SqliteResponseStore(join(root, String(++n)), limits)),
);

test('SqliteResponseStore: stored responses survive closing and reopening the file (a restart)', async () => {
  const dir = join(root, 'restart');
  const limits = { retentionMs: 60_000, tenantMaxBytes: 1024 * 1024 };
  const first = new SqliteResponseStore(dir, limits);
  const r = {
    response: { id: 'resp_restart', object: 'response' },
    messages: [{ role: 'user', content: 'q' }],
    instructions: 'be brief',
  };
  await first.put(r, 'acme');
  await first.close();
  const second = new SqliteResponseStore(dir, limits);
  assert.deepEqual(await second.get('resp_restart', 'acme'), r);
  await second.close();
});
