import { createHash } from 'node:crypto';
import type { GatewayKey, TenantConfig } from '../config/types.ts';
import { effectivePriority } from '../admission/priority.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';

/**
 * Gateway keys → tenant. Keys are looked up by their SHA-256, so the config may hold only hashes and a timing
 * difference in the lookup reveals nothing about a key. Undefined (left out of the pipeline) when no key is configured.
 */
export function authenticateStage(
  keys: readonly GatewayKey[],
  tenants: Readonly<Record<string, TenantConfig>>,
): Stage<RequestContext> | undefined {
  if (keys.length === 0) return undefined;
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  return {
    name: 'authenticate',
    async run(ctx, next) {
      // A job item's run was already authenticated as the key that submitted it (jobs/run/job-call-stage.ts).
      if (ctx.priority === 'background' && ctx.gatewayKey !== undefined) return next();
      const presented =
        bearer(ctx.req.headers.authorization) ??
        header(ctx.req.headers['api-key']) ??
        header(ctx.req.headers['x-api-key']);
      if (presented === undefined) {
        throw new SpillwayError('unauthorized', 'Missing API key: send it as "Authorization: Bearer <key>".');
      }
      const key = byHash.get(createHash('sha256').update(presented).digest('hex'));
      if (key === undefined) throw new SpillwayError('unauthorized', 'Incorrect API key provided.');
      ctx.tenant = key.tenant;
      ctx.gatewayKey = key;
      ctx.allowedModels = key.models;
      const asked = ctx.req.headers['x-spillway-priority'];
      ctx.priority = effectivePriority(Array.isArray(asked) ? asked[0] : asked, tenants[key.tenant]);
      await next();
    },
  };
}

function bearer(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(v.trim());
  return m?.[1];
}

function header(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}
