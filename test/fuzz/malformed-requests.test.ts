import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFuzzTarget } from './fuzz-target.ts';
import { describeFailures, runFuzz } from './fuzz-run.ts';
import { KINDS } from './fuzz-inputs.ts';

/**
 * 3,000 seeded malformed inputs (framing, bodies, paths with odd encodings, headers, multipart uploads, admin and jobs
 * routes, SSE-related headers) against a real gateway process on the mock, with jobs, the cache and the open admin
 * API on. The gateway's heap is capped: a leak would end the process instead of hiding in a large heap.
 * Replay a failure with its seed and index: `fuzzInput(seed, index)` gives the exact bytes.
 */
const SEED = 20261206;
const COUNT = 3000;

test('3,000 malformed requests: the gateway stays up, answers well-formed HTTP with OpenAI-style errors, no 500s, bounded RSS', async (t) => {
  const target = await startFuzzTarget({ nodeFlags: ['--max-old-space-size=64'] });
  t.after(() => target.close());
  const s = await runFuzz(target, { seed: SEED, count: COUNT, concurrency: 16 });
  assert.equal(s.alive, true, 'the gateway process exited');
  assert.equal(s.inputs, COUNT);
  assert.equal(s.failureCount, 0, `${s.failureCount} bad answers:\n${describeFailures(s)}`);
  assert.equal(s.statuses['500'] ?? 0, 0);
  assert.equal(s.errorLogLines, 0, `internal errors logged:\n${target.errorLines.slice(0, 3).join('\n')}`);
  for (const k of KINDS)
    assert.ok(
      Object.values(s.byKind[k] ?? {}).reduce((a, b) => a + b, 0) >= COUNT / KINDS.length - 1,
      `${k} inputs were sent`,
    );
  assert.ok(
    s.rssEndMiB - s.rssStartMiB < 96,
    `RSS grew from ${s.rssStartMiB.toFixed(0)} to ${s.rssEndMiB.toFixed(0)} MiB`,
  );
  const health = await fetch(`${target.url}/healthz`);
  assert.equal(health.status, 200);
});
