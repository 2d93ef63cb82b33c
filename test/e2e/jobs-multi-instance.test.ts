import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import { mockFor } from '../helpers/mock.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';

test(
  'two gateways sharing Redis share one batch: both run items, each item is in the output once',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const dir = tempDataDir(t);
    const mock = await mockFor(t, { ttftMs: 5, countPrompts: true });
    const config = resolveConfig(
      jobsConfig(
        [mock.url],
        { data_dir: dir, store: 'redis' },
        { state: { redis: { url: redis.url, prefix: 'shared:' } }, log: { level: 'error', requests: false } },
      ),
      'test config',
      {},
    );
    const a = await startGateway(config, { port: 0, log: createLogger('error') });
    t.after(() => a.shutdown(0));
    const b = await startGateway(config, { port: 0, log: createLogger('error') });
    t.after(() => b.shutdown(0));
    const n = 300;
    const input = join(dir, 'shared.jsonl');
    writeFileSync(
      input,
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({
          custom_id: `s${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'chat', messages: [{ role: 'user', content: `shared ${i}` }], max_tokens: 2 },
        }),
      ).join('\n'),
    );
    const viaA = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const viaB = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const file = await viaA.files.create({ file: createReadStream(input), purpose: 'batch' });
    const batch = await viaA.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    // Either instance answers for the batch: the state is shared.
    const done = await pollUntil(
      () => viaB.batches.retrieve(batch.id),
      (x) => x.status === 'completed',
    );
    assert.deepEqual(done.request_counts, { total: n, completed: n, failed: 0 });
    const lines = (await (await viaB.files.content(done.output_file_id ?? '')).text()).trim().split('\n');
    assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).size, n);
    assert.equal(lines.length, n);
    const ran = async (gw: typeof a) =>
      Number(
        /spillway_jobs_runs_total\{result="done"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ??
          0,
      );
    const [byA, byB] = [await ran(a), await ran(b)];
    assert.equal(byA + byB, n, 'every item recorded once, by one of them');
    assert.ok(byA > 0 && byB > 0, `both instances ran items (a: ${byA}, b: ${byB})`);
    assert.ok(
      Object.values(mock.stats().generatedByPrompt).every((c) => c === 1),
      'no item generated twice',
    );
  },
);
