import type { Clock } from '../clock.ts';
import type { Balancer } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import { UPSTREAM_PATH } from '../api/endpoints.ts';
import { AttemptError, openAttempt, type OpenAttempt } from '../upstream/open-attempt.ts';
import { classifyError, classifyStatus, parseRetryAfter } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { errorFromOutcome, errorFromUpstreamStatus } from '../relay/upstream-error.ts';
import { relayJson } from '../relay/relay-json.ts';
import { relaySse } from '../relay/relay-sse.ts';
import { modelRewriter } from '../relay/rewrite-model.ts';
import type { Logger } from '../observe/log.ts';

/** Largest upstream error body read (bytes): enough for any error message, bounded against a hostile upstream. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * The attempt loop: balance → upstream → relay, per attempt. This version makes one attempt; retries, budgets and
 * failover belong here and arrive with the recovery work.
 */
export function dispatchStage(deps: { balancer: Balancer; pools: UpstreamPools; clock: Clock; log: Logger }): Stage<RequestContext> {
  const { balancer, pools, clock, log } = deps;
  return {
    name: 'dispatch',
    async run(ctx) {
      const call = ctx.call;
      const model = ctx.model;
      if (call === undefined || model === undefined) throw new Error('dispatch needs a call and a model');
      const lease = balancer.acquire(model);
      const { route, upstream } = lease;
      ctx.upstream = upstream.name;
      ctx.attempts++;
      ctx.res.setHeader('x-spillway-upstream', upstream.name);
      ctx.res.setHeader('x-spillway-attempts', String(ctx.attempts));
      const body = route.model === call.model ? call.raw : JSON.stringify({ ...call.body, model: route.model });
      let outcome: Outcome = { kind: 'cancelled' };
      let att: OpenAttempt | undefined;
      try {
        try {
          att = await openAttempt(pools, clock, {
            upstream, path: UPSTREAM_PATH[call.endpoint], body, requestId: ctx.id, deadlineAt: ctx.deadlineAt, clientGone: ctx.clientGone,
          });
        } catch (err) {
          const e = err as AttemptError;
          outcome = classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone });
          throw errorFromOutcome(outcome, upstream.name) ?? clientGoneError();
        }
        const retryAfterMs = parseRetryAfter(att.headers['retry-after'], Date.now());
        outcome = classifyStatus(att.status, retryAfterMs);
        if (outcome.kind !== 'ok') {
          const text = await readErrorBody(att);
          if (att.status === 401 || att.status === 403) {
            log.error({ upstream: upstream.name, status: att.status }, 'upstream rejected the gateway credentials: check this upstream api_key in the config');
          }
          throw errorFromUpstreamStatus(att.status, text, retryAfterMs, upstream.name);
        }
        const rewrite = modelRewriter(route.model, call.model);
        if (call.stream) {
          outcome = await relaySse(ctx, att, rewrite, clock);
        } else {
          try {
            await relayJson(ctx, att, rewrite);
          } catch (err) {
            const e = err instanceof AttemptError ? err : new AttemptError(err, att.timeoutPhase(), ctx.clientGone.aborted);
            outcome = classifyError(e.cause, { afterFirstByte: true, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone });
            throw errorFromOutcome(outcome, upstream.name) ?? clientGoneError();
          }
        }
      } finally {
        att?.close();
        if (att !== undefined) ctx.upstreamMs += clock.now() - att.startedAt;
        lease.release(outcome);
      }
    },
  };
}

async function readErrorBody(att: OpenAttempt): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of att.body) {
      size += c.length;
      if (size > MAX_ERROR_BODY) break;
      chunks.push(c);
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The client is gone: nobody reads this; it only ends the pipeline. */
function clientGoneError(): SpillwayError {
  return new SpillwayError('upstream_error', 'The client closed the connection.');
}
