import { createHash } from 'node:crypto';
import { SpillwayError } from '../../errors.ts';
import type { Stage } from '../../pipeline.ts';
import type { RequestContext } from '../../server/context.ts';
import type { Clock } from '../../clock.ts';
import { newId } from '../store/ids.ts';
import { jobObject } from './job-objects.ts';
import type { JobStore, RequestRecord } from '../store/job-store.ts';
import { prefixKey } from '../run/prefix-key.ts';
import { webhookUrlProblem } from '../run/webhook-target.ts';
import type { JobsConfig } from '../../config/types.ts';

export interface AsyncDeps {
  config: JobsConfig;
  store: JobStore;
  wall: Clock;
  /** A new item is queued: look for work now. */
  wake: () => void;
}

/**
 * `Prefer: respond-async` (RFC 7240) on a chat, completion or embedding request: the request is written to the job
 * store — committed to disk — and only then answered with 202, the job object and `Location: /v1/jobs/{id}`. It runs
 * later in the background class. `Idempotency-Key` makes a resubmission return the first job instead of a second
 * one (a different body under the same key is refused). `x-spillway-webhook-url` asks for a webhook when it ends.
 * Placed after model resolution, so a request that could never run is refused now rather than failing later.
 */
export function asyncStage(deps: AsyncDeps): Stage<RequestContext> {
  return {
    name: 'respond-async',
    async run(ctx, next) {
      const prefer = one(ctx.req.headers.prefer);
      if (prefer === undefined || !/(^|[,;\s])respond-async($|[,;\s=])/i.test(prefer)) return next();
      const call = ctx.call;
      if (call === undefined) throw new Error('respond-async needs a parsed call');
      if (call.stream)
        throw new SpillwayError(
          'unsupported_endpoint',
          'An async request cannot be streamed: drop "stream": true or the Prefer: respond-async header.',
          { param: 'stream' },
        );
      const webhookUrl = one(ctx.req.headers['x-spillway-webhook-url']) ?? null;
      const refused = webhookUrl === null ? null : webhookUrlProblem(webhookUrl, deps.config.webhook);
      if (refused !== null)
        throw new SpillwayError('webhook_not_allowed', refused, { param: 'x-spillway-webhook-url' });
      const key = one(ctx.req.headers['idempotency-key']) ?? null;
      if (key !== null && (key.length === 0 || key.length > 255))
        throw new SpillwayError('invalid_request', 'Idempotency-Key must be 1 to 255 characters.', {
          param: 'Idempotency-Key',
        });
      const nowMs = deps.wall.now();
      const body = call.raw.toString('utf8');
      const record: RequestRecord = {
        id: newId('job', nowMs),
        tenant: ctx.tenant ?? '',
        endpoint: call.endpoint,
        model: call.model,
        createdAt: Math.floor(nowMs / 1000),
        idempotencyKey: key,
        bodyHash: createHash('sha256').update(call.raw).digest('hex'),
        webhookUrl,
      };
      const { record: job, created } = await deps.store.createRequest(
        record,
        ctx.gatewayKey?.sha256 ?? null,
        {
          seq: 0,
          customId: record.id,
          endpoint: call.endpoint,
          body,
          prefixKey: prefixKey(call.body, deps.config.prefixChars),
        },
        deps.config.maxItems,
      );
      if (!created && job.bodyHash !== record.bodyHash) {
        throw new SpillwayError(
          'idempotency_key_reused',
          `Idempotency-Key "${key ?? ''}" was used for a different request (job ${job.id}).`,
          { param: 'Idempotency-Key' },
        );
      }
      if (created) deps.wake();
      const item = await deps.store.item(`${job.id}.0`);
      if (item === undefined) throw new Error(`job ${job.id} has no item`);
      const text = JSON.stringify(jobObject(job, item));
      const res = ctx.res;
      res.statusCode = 202;
      res.setHeader('content-type', 'application/json');
      res.setHeader('location', `/v1/jobs/${job.id}`);
      res.setHeader('preference-applied', 'respond-async');
      if (!created) res.setHeader('x-spillway-idempotent-replay', 'true');
      res.setHeader('content-length', Buffer.byteLength(text));
      ctx.settled = true;
      res.end(text);
    },
  };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
