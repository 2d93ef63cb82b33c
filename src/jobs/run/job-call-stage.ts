import { timingSafeEqual } from 'node:crypto';
import type { GatewayKey } from '../../config/types.ts';
import { SpillwayError } from '../../errors.ts';
import type { Stage } from '../../pipeline.ts';
import type { RequestContext } from '../../server/context.ts';

/** Headers of a job item's run, sent by this process's runner to its own listener (see run-item.ts). */
export const JOB_HEADERS = {
  secret: 'x-spillway-job-secret',
  tenant: 'x-spillway-job-tenant',
  key: 'x-spillway-job-key',
} as const;

/**
 * Recognises a job item's run: a request carrying this process's job secret (random per process, never written
 * anywhere) runs in the `background` class, as the tenant and gateway key that submitted the job. Gateway keys are
 * stored with jobs only as their SHA-256, so a key removed from the config stops its queued jobs too. Everything
 * else about the request (routing, limits, retries, relay) is the ordinary path. A wrong secret is refused: nobody
 * outside the process can claim the background class or another tenant.
 */
export function jobCallStage(secret: string, keys: readonly GatewayKey[]): Stage<RequestContext> {
  const expected = Buffer.from(secret);
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  return {
    name: 'job-call',
    async run(ctx, next) {
      const given = one(ctx.req.headers[JOB_HEADERS.secret]);
      if (given === undefined) return next();
      const b = Buffer.from(given);
      if (b.length !== expected.length || !timingSafeEqual(b, expected))
        throw new SpillwayError('unauthorized', 'Invalid job secret.');
      ctx.priority = 'background';
      const tenant = one(ctx.req.headers[JOB_HEADERS.tenant]);
      ctx.tenant = tenant === undefined || tenant === '' ? undefined : tenant;
      const sha = one(ctx.req.headers[JOB_HEADERS.key]);
      if (keys.length > 0) {
        const key = sha === undefined ? undefined : byHash.get(sha);
        if (key === undefined)
          throw new SpillwayError('unauthorized', 'The gateway key that submitted this job is no longer configured.');
        ctx.gatewayKey = key;
        ctx.allowedModels = key.models;
      }
      await next();
    },
  };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
