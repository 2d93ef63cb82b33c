import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteJobStore } from '../../src/jobs/store/sqlite-store.ts';
import { jobStoreContract } from './job-store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'spillway-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

jobStoreContract('SqliteJobStore', async () => new SqliteJobStore(join(root, String(++n))));
