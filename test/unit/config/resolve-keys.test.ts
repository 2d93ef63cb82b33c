import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKeys } from '../../../src/config/resolve-keys.ts';
import { DURATION_OR_AUTO_PATTERN, DURATION_PATTERN } from '../../../src/config/duration.ts';

/** Every key has a default, so every key is there once validated (as in the config schema's sections). */
const schema = {
  properties: {
    body_limit_bytes: { type: 'integer', default: 1 },
    drain_grace: { type: 'string', pattern: DURATION_PATTERN, default: '1s' },
    first_token: { type: 'string', pattern: DURATION_OR_AUTO_PATTERN, default: 'auto' },
    idle: { type: 'string', pattern: DURATION_OR_AUTO_PATTERN, default: 'auto' },
    tenant_groups: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, default: {} },
    allowed_hosts: { type: 'array', items: { type: 'string' }, default: [] },
    redis: {
      type: ['object', 'null'],
      default: null,
      required: ['local_fraction'],
      properties: {
        local_fraction: { type: 'number' },
        timeout: { type: 'string', pattern: DURATION_PATTERN, default: '1s' },
      },
    },
    semantic: { type: ['object', 'null'], default: null, properties: { max_entries: { type: 'integer', default: 1 } } },
  },
} as const;

test('the renaming rule: camelCase keys, durations in ms with Ms appended, auto as null, sections alike, maps and lists as they are', () => {
  const raw = {
    body_limit_bytes: 10,
    drain_grace: '1.5s',
    first_token: 'auto',
    idle: '2m',
    tenant_groups: { team_a: ['t_1'] },
    allowed_hosts: ['a_b.example'],
    redis: { local_fraction: 0.5, timeout: '200ms' },
    semantic: null,
  };
  // The rule's type, Resolved<S>, is checked here too: this assignment compiles only if it gives these keys these types.
  const resolved: {
    bodyLimitBytes: number;
    drainGraceMs: number;
    firstTokenMs: number | null;
    idleMs: number | null;
    tenantGroups: Readonly<Record<string, readonly string[]>>;
    allowedHosts: readonly string[];
    redis: { localFraction: number; timeoutMs: number } | null;
    semantic: { maxEntries: number } | null;
  } = resolveKeys(raw, schema);
  assert.deepEqual(resolved, {
    bodyLimitBytes: 10,
    drainGraceMs: 1500,
    firstTokenMs: null,
    idleMs: 120_000,
    tenantGroups: { team_a: ['t_1'] },
    allowedHosts: ['a_b.example'],
    redis: { localFraction: 0.5, timeoutMs: 200 },
    semantic: null,
  });
});
