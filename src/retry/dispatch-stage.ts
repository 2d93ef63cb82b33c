import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { endStreamWithError } from '../relay/relay-sse.ts';
import { maxAttempts, type AttemptResult } from './attempt.ts';
import { backoffDelayMs, type BackoffSettings } from './backoff.ts';
import { FallbackChain } from './fallback-chain.ts';
import { Hedging } from './hedging.ts';
import { nextStep, type StepInput } from './next-step.ts';
import type { RetryBudgets } from './retry-budgets.ts';
import type { AdmissionQueue } from '../queue/admission-queue.ts';
import { PUSHBACKS_PER_ROUTE } from './pushback.ts';
import type { AccountGate } from '../balance/account-gate.ts';
import { estimateTokens } from '../admission/estimate-tokens.ts';
import { sleep } from './sleep.ts';
import { StreamContinuation } from './stream-continuation.ts';
import type { RouteApis } from './continuation.ts';
import { openAiChain, openAiModels } from './messages-routes.ts';
import { tryOnce, type Binding, type Tried, type TryDeps } from './try-once.ts';

/** The shortest an attempt could take: a retry that cannot even start this long before the deadline is not made. */
const MIN_ATTEMPT_MS = 20;

export interface DispatchDeps {
  config: Config;
  balancer: Balancer;
  queue: AdmissionQueue;
  /** Shared account limits and caps; undefined when none apply (left out of the path). */
  gate?: AccountGate | undefined;
  pools: UpstreamPools;
  budgets: RetryBudgets;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  random?: () => number;
}

/** What the decision after a try needs beyond the try itself (see `stepInput`). */
interface Policy {
  clock: Clock;
  budgets: RetryBudgets;
  backoff: BackoffSettings;
  random: () => number;
}

/**
 * The attempt loop (Envoy's router: the loop here, one try in try-once.ts, the decision in next-step.ts): lease a
 * route, send, relay; on "busy", back to the queue; on a retryable failure, back off and try another upstream, then
 * the model's fallbacks (fallback-chain.ts) — within the attempt cap, the retry budgets and the deadline. A slow
 * first token may be hedged (hedging.ts); a stream cut after content reached the client is continued where the
 * model allows it (stream-continuation.ts). When the loop stops, the client hears the last real failure at once.
 */
export function dispatchStage(deps: DispatchDeps): Stage<RequestContext> {
  const { config, metrics } = deps;
  const { policy, tryDeps } = loopParts(deps);
  const byName = new Map(config.upstreams.map((u) => [u.name, u]));
  const apis: RouteApis = {
    kindOf: (upstream) => deps.pools.kind(upstream),
    // Every route names a configured upstream (config validation); 'openai' would only be a safe answer otherwise.
    apiOf: (upstream) => byName.get(upstream)?.api ?? 'openai',
  };
  // Models as requests other than the Messages door's see them: without routes to Messages-only upstreams.
  const openAi = openAiModels(config);
  const loop: Loop = { policy, tryDeps, metrics };
  return {
    name: 'dispatch',
    async run(ctx) {
      const r = begin(ctx, config, apis, metrics, deps.gate !== undefined, openAi);
      try {
        await attempts(ctx, r, loop);
      } finally {
        // Its first attempt's deposit in the retry budgets holds while the request lasts (retry-budgets.ts).
        if (r.binding.deposited !== undefined) deps.budgets.requestEnded(r.binding.deposited);
      }
    },
  };
}

interface Loop {
  policy: Policy;
  tryDeps: TryDeps;
  metrics: Metrics;
}

/**
 * The attempt loop: one try, then the decision (next-step.ts) — answered, stopped, back to the queue on "busy", or
 * a retry (perhaps continuing the answer) after its backoff.
 */
async function attempts(ctx: RequestContext, r: RequestState, { policy, tryDeps, metrics }: Loop): Promise<void> {
  let last: AttemptResult | undefined;
  for (let attempt = 1; ; attempt++) {
    const t = await tryOnce(ctx, { ...r, attempt, firstOfRequest: attempt === 1 && r.pushbacks === 0 }, tryDeps);
    if ('error' in t) return finish(ctx, last, t.error);
    last = t.result;
    const upstream = t.lease.upstream.name;
    const step = nextStep(stepInput(ctx, t, r, attempt, policy));
    switch (step.kind) {
      case 'answered':
        return r.continuation.succeeded();
      case 'cancelled':
        return;
      case 'end_at_limit':
        return r.continuation.endAtLimit(ctx, t.served, t.messages);
      case 'stop':
        metrics.retryStops.inc({ why: step.why });
        r.continuation.stopped(step.continuable);
        return finish(ctx, { ...t.result, contentSent: t.result.contentSent || r.continuation.active }, undefined);
      case 'pushback':
        // Busy is not failure: back to the queue in its place, no attempt or retry budget spent, no sleep (a long
        // Retry-After rests that account, never this request: balancer.ts). The deadline bounds the wait.
        metrics.pushbacks.inc({ upstream });
        r.chain.pushedBackBy(upstream);
        r.pushbacks++;
        attempt--;
        if (r.binding.mode === 'new') r.binding.mode = 'pushback';
        continue;
      case 'retry':
        r.chain.failedOn(upstream);
        r.binding.mode = 'retry';
        if (step.continue) r.chain.narrowTo(r.continuation.start(t.served, t.messages));
        metrics.retries.inc({ upstream, outcome: t.result.outcome.kind });
        await sleep(step.delayMs, ctx.clientGone);
        if (ctx.clientGone.aborted) return;
    }
  }
}

/** What the loop decides with (clock, budgets, backoff) and what one try runs on (with hedging). */
function loopParts(deps: DispatchDeps): { policy: Policy; tryDeps: TryDeps } {
  const { config } = deps;
  const policy: Policy = {
    clock: deps.clock,
    budgets: deps.budgets,
    backoff: { baseMs: config.retry.backoffBaseMs, capMs: config.retry.backoffCapMs },
    random: deps.random ?? Math.random,
  };
  const hedging = new Hedging(config.models, { ...deps, cooldownDefaultMs: config.retry.cooldownDefaultMs });
  return { policy, tryDeps: { ...deps, hedging } };
}

/** One request's standing in the loop: where it may go, what it has sent, how it binds, what it may still spend. */
interface RequestState {
  chain: FallbackChain;
  continuation: StreamContinuation;
  binding: Binding;
  maxAttempts: number;
  /** Pushbacks it absorbed, and the most it may (pushback.ts). */
  pushbacks: number;
  maxPushbacks: number;
}

function begin(
  ctx: RequestContext,
  config: Config,
  apis: RouteApis,
  metrics: Metrics,
  gated: boolean,
  openAi: ReadonlyMap<string, ModelConfig | null>,
): RequestState {
  const { call, model } = ctx;
  if (call === undefined || model === undefined) throw new Error('dispatch needs a call and a model');
  // Requests other than the Messages door's never go to an upstream that serves only the Messages API.
  const chain = new FallbackChain(
    model,
    config.models,
    call.native?.api !== 'anthropic' && openAi.size > 0 ? (full) => openAiChain(openAi, full) : undefined,
  );
  return {
    chain,
    continuation: new StreamContinuation(call, chain.models, apis, model.name, metrics),
    binding: { mode: 'new', gateRefusals: 0, tokens: gated ? estimateTokens(call.body) : 0 },
    maxAttempts: maxAttempts(config, ctx),
    pushbacks: 0,
    maxPushbacks: PUSHBACKS_PER_ROUTE * chain.routeCount,
  };
}

/** The decision's view of one try: its outcome, where the request stands, and the clock, backoff and budgets. */
function stepInput(ctx: RequestContext, t: Tried, r: RequestState, attempt: number, p: Policy): StepInput {
  const upstream = t.lease.upstream.name;
  const retryAfterMs = retryAfterOf(t.result.outcome);
  return {
    outcome: t.result.outcome,
    contentSent: t.result.contentSent,
    pushbacks: r.pushbacks,
    maxPushbacks: r.maxPushbacks,
    // A passed-through Messages stream is continued in its own form (a prefill), a chat stream in chat's.
    cutAtLimit: r.continuation.cutAtLimit(ctx, t.result, t.messages),
    canContinue: r.continuation.canContinue(t.result, t.served, t.lease, t.messages),
    attempt,
    maxAttempts: r.maxAttempts,
    now: p.clock.now(),
    deadlineAt: ctx.deadlineAt,
    minAttemptMs: MIN_ATTEMPT_MS,
    // An upstream's Retry-After is a floor only when no other route is left: otherwise the retry goes elsewhere.
    delayMs: () =>
      backoffDelayMs(attempt - 1, p.backoff, p.random, r.chain.hasAlternativeTo(upstream) ? undefined : retryAfterMs),
    takeBudget: () => p.budgets.tryRetry(upstream, r.binding.depositedAt),
  };
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
  const why = error.message.replace(/\.$/, '');
  endStreamWithError(
    ctx,
    new SpillwayError(
      'stream_interrupted',
      `The stream was interrupted: ${why}. The answer is ${last?.contentSent === true ? 'incomplete' : 'missing'}.`,
    ),
  );
}
