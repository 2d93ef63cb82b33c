import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer, Lease } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { endStreamWithError } from '../relay/relay-sse.ts';
import { runAttempt, type AttemptResult } from './attempt.ts';
import { backoffDelayMs } from './backoff.ts';
import { decideRetry } from './retry-decision.ts';
import type { RetryBudgets } from './retry-budgets.ts';
import { sleep } from './sleep.ts';

/** The shortest an attempt could take: a retry that cannot even start this long before the deadline is not made. */
const MIN_ATTEMPT_MS = 20;

export interface DispatchDeps {
  config: Config;
  balancer: Balancer;
  pools: UpstreamPools;
  budgets: RetryBudgets;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  random?: () => number;
}

/**
 * The attempt loop: lease a route (balance), send (upstream), relay; on a retryable failure, back off and try
 * another upstream, then the model's fallbacks — within the attempt cap, the retry budgets and the deadline, and
 * never after content reached the client. When it stops, the client hears the last real failure at once.
 */
export function dispatchStage(deps: DispatchDeps): Stage<RequestContext> {
  const { config, balancer, budgets, clock, metrics } = deps;
  const random = deps.random ?? Math.random;
  const backoff = { baseMs: config.retry.backoffBaseMs, capMs: config.retry.backoffCapMs };
  return {
    name: 'dispatch',
    async run(ctx) {
      const model = ctx.model;
      if (ctx.call === undefined || model === undefined) throw new Error('dispatch needs a call and a model');
      const chain = [model, ...model.fallback.flatMap((n) => config.models[n] ?? [])];
      // A request that is already the SDK's own retry gets fewer gateway retries: the two would multiply.
      const clientRetries = Number(ctx.req.headers['x-stainless-retry-count']) || 0;
      const maxAttempts = Math.max(1, config.retry.maxAttempts - clientRetries);
      const failed = new Set<string>();
      let link = 0;
      let last: AttemptResult | undefined;
      for (let attempt = 1; ; attempt++) {
        const picked = pick(balancer, chain, link, failed);
        if ('error' in picked) return finish(ctx, last, picked.error);
        link = picked.link;
        const served = chain[link] as ModelConfig;
        const { lease } = picked;
        announce(ctx, lease, served);
        if (attempt === 1) budgets.recordFirstAttempt(lease.upstream.name);
        let result: AttemptResult | undefined;
        try {
          result = await runAttempt(ctx, lease, served.name, deps);
        } finally {
          // runAttempt never throws for upstream trouble; should a bug make it throw, the slot is still freed.
          lease.release(result?.outcome ?? { kind: 'cancelled' }, result?.firstTokenMs);
        }
        last = result;
        if (result.outcome.kind === 'ok' || result.outcome.kind === 'cancelled') return;
        failed.add(lease.upstream.name);
        const alternatives = chain.some((m) => m.routes.some((r) => !failed.has(r.upstream)));
        const verdict = decideRetry({
          outcome: result.outcome,
          committed: result.contentSent,
          attempt,
          maxAttempts,
          delayMs: backoffDelayMs(attempt - 1, backoff, random, alternatives ? undefined : retryAfterOf(result.outcome)),
          now: clock.now(),
          deadlineAt: ctx.deadlineAt,
          minAttemptMs: MIN_ATTEMPT_MS,
          takeBudget: () => budgets.tryRetry(lease.upstream.name),
        });
        if (!verdict.retry) {
          metrics.retryStops.inc({ why: verdict.why });
          return finish(ctx, result, undefined);
        }
        metrics.retries.inc({ upstream: lease.upstream.name, outcome: result.outcome.kind });
        await sleep(verdict.delayMs, ctx.clientGone);
        if (ctx.clientGone.aborted) return;
      }
    },
  };
}

/** The next lease: the current link of the chain while it has a route that has not failed, else the next link. */
function pick(balancer: Balancer, chain: readonly ModelConfig[], from: number, failed: ReadonlySet<string>): { lease: Lease; link: number } | { error: SpillwayError } {
  let noCapacity: SpillwayError | undefined;
  for (let link = from; link < chain.length; link++) {
    const m = chain[link] as ModelConfig;
    const isLast = link === chain.length - 1;
    if (!isLast && m.routes.every((r) => failed.has(r.upstream))) continue;
    try {
      return { lease: balancer.acquire(m, failed), link };
    } catch (err) {
      if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
      noCapacity ??= err;
    }
  }
  return { error: noCapacity ?? new SpillwayError('no_capacity', 'No upstream can take the request.', { retryAfterS: 1 }) };
}

function announce(ctx: RequestContext, lease: Lease, served: ModelConfig): void {
  ctx.upstream = lease.upstream.name;
  ctx.attempts++;
  if (ctx.res.headersSent) return;
  ctx.res.setHeader('x-spillway-upstream', lease.upstream.name);
  ctx.res.setHeader('x-spillway-attempts', String(ctx.attempts));
  ctx.res.setHeader('x-spillway-model', served.name);
}

function retryAfterOf(o: Outcome): number | undefined {
  return o.kind === 'overloaded' || o.kind === 'rate_limited' ? o.retryAfterMs : undefined;
}

/**
 * The loop has stopped without success. The client hears the last attempt's failure (or, when no attempt could be
 * made, why not): as an HTTP error while nothing was sent, or in-band once the stream's headers are out.
 */
function finish(ctx: RequestContext, last: AttemptResult | undefined, noAttempt: SpillwayError | undefined): void {
  const error = last?.error ?? noAttempt;
  if (error === undefined) return; // the client left: nobody to tell
  if (!ctx.res.headersSent) throw error;
  const why = error.code === 'upstream_timeout' || error.code === 'upstream_error' ? error.message.replace(/\.$/, '') : error.message;
  endStreamWithError(ctx, new SpillwayError('stream_interrupted', `The stream was interrupted: ${why}. The answer is ${last?.contentSent === true ? 'incomplete' : 'missing'}.`));
}
