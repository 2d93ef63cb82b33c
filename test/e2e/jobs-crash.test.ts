import { test } from 'node:test';
import { crashDrill } from '../helpers/crash-run.ts';
import { tempDataDir } from '../helpers/jobs.ts';

test('kill -9 mid-batch (SQLite): after a restart every one of 2,000 items completes, none twice in the output, none generated more than twice', async (t) => {
  await crashDrill(t, tempDataDir(t), 2000, { store: 'sqlite' });
});
