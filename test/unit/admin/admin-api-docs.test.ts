import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startStack } from '../../helpers/stack.ts';

/** Registered only when their feature is configured (/admin/cache/purge: when the cache is on; /admin/jobs*: jobs.enabled). */
const CONDITIONAL = new Set([
  'POST /admin/cache/purge',
  'GET /admin/jobs',
  'GET /admin/jobs/dead',
  'DELETE /admin/jobs/dead',
  'GET /admin/jobs/items/:id',
  'POST /admin/jobs/dead/:id/requeue',
  'DELETE /admin/jobs/dead/:id',
]);

test('docs/admin-api.md lists every registered admin route, in its table and in its OpenAPI description', async (t) => {
  const { gw } = await startStack(t);
  const text = readFileSync('docs/admin-api.md', 'utf8');
  const table = new Set(
    [...text.matchAll(/^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`),
  );
  const block = /```yaml\n(openapi:[\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, 'an OpenAPI block');
  const spec = parse(block) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(spec.openapi, /^3\./);
  const openapi = new Set(
    Object.entries(spec.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    ),
  );
  const registered = new Set(gw.admin.list().map((r) => `${r.method} ${r.path}`));
  assert.ok(registered.size >= 10);
  for (const r of registered) {
    assert.ok(table.has(r), `${r} is missing from the table in docs/admin-api.md`);
    assert.ok(openapi.has(r), `${r} is missing from the OpenAPI description in docs/admin-api.md`);
  }
  for (const r of [...table, ...openapi])
    assert.ok(registered.has(r) || CONDITIONAL.has(r), `docs/admin-api.md documents ${r}, which is not registered`);
});
