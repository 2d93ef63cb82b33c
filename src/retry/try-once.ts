import type { ModelConfig } from '../config/types.ts';
import type { AccountGate } from '../balance/account-gate.ts';
import type { Lease } from '../balance/lease.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { AdmissionQueue, LeaseMode } from '../queue/admission-queue.ts';
import type { RequestContext } from '../server/context.ts';
import { admitLease } from './admit-lease.ts';
import { finishAttempt, type AttemptDeps, type AttemptResult } from './attempt.ts';
import type { FallbackChain, Picked } from './fallback-chain.ts';
import { startWithHedge } from './hedge.ts';
import { hedgeScale, type Hedging, type HedgeScale, type PeerKind } from './hedging.ts';
import { maxTokensOf, requestShape } from '../api/parse-call.ts';
import { promptTokensOf } from '../admission/estimate-tokens.ts';
import type { RetryBudgets } from './retry-budgets.ts';
import type { StreamContinuation } from './stream-continuation.ts';

/**
 * A safety net only: each refusal rests that account for a while, so once every account rests the request waits
 * in the queue (bounded by its deadline) rather than spinning here.
 */
const MAX_GATE_REFUSALS = 1000;

export interface TryDeps extends AttemptDeps {
  queue: AdmissionQueue;
  /** Shared account limits and caps; undefined when none apply (left out of the path). */
  gate?: AccountGate | undefined;
  budgets: RetryBudgets;
  metrics: Metrics;
  hedging: Hedging;
}

/** How one request binds its leases: how it comes to the queue, and what its account gates have said so far. */
export interface Binding {
  mode: LeaseMode;
  gateRefusals: number;
  /** The request's estimated tokens, for its accounts' token limits (0 without a gate). */
  readonly tokens: number;
  /** The upstream its first attempt deposited into the retry budgets: given back when the request ends. */
  deposited?: string;
  /** When it deposited: its retries are charged to that time (retry-budget.ts). */
  depositedAt?: number;
}

export interface TryPlan {
  chain: FallbackChain;
  continuation: StreamContinuation;
  binding: Binding;
  attempt: number;
  /** The request's first try: it deposits into the retry budgets. */
  firstOfRequest: boolean;
}

/** One try's end: what it came to, on which lease, for which model of the chain. */
export interface Tried {
  result: AttemptResult;
  lease: Lease;
  served: ModelConfig;
  /** The answer was a passed-through Messages answer (never continued: it is not made of chat chunks). */
  messages: boolean;
}

/**
 * One try (Envoy's upstream request): a lease its account gate admits, the attempt sent — and hedged on a slow first
 * token, unless it continues an answer — its answer relayed, and every lease it took released.
 */
export async function tryOnce(
  ctx: RequestContext,
  plan: TryPlan,
  deps: TryDeps,
): Promise<Tried | { error: SpillwayError }> {
  const picked = await bind(ctx, plan, deps);
  if ('error' in picked) return picked;
  plan.chain.use(picked);
  const served = picked.model;
  if (plan.firstOfRequest) {
    plan.binding.deposited = picked.lease.upstream.name;
    plan.binding.depositedAt = deps.budgets.recordFirstAttempt(plan.binding.deposited);
  }
  const launch = (lease: Lease) => plan.continuation.launch(lease, served);
  const kind: PeerKind = {
    stream: ctx.call?.stream ?? true,
    shape: ctx.call === undefined ? 'plain' : requestShape(ctx.call.body),
  };
  const hedge = plan.continuation.active
    ? undefined
    : deps.hedging.offer(ctx, {
        served,
        first: picked.lease,
        avoid: plan.chain.failedUpstreams,
        leaseId: `${ctx.id}:${plan.attempt}:hedge`,
        depositedAt: plan.binding.depositedAt,
        tokens: plan.binding.tokens,
        kind,
        scale: hedgeScaleOf(ctx, picked.lease, kind, deps),
        launch,
      });
  const { started, lease, hedged } = await startWithHedge(ctx, launch(picked.lease), hedge, deps);
  announce(ctx, lease, served, hedged);
  let result: AttemptResult | undefined;
  try {
    result =
      started.kind === 'failed'
        ? started.result
        : await finishAttempt(ctx, started, lease, served.name, plan.continuation.relay, deps);
  } finally {
    // finishAttempt never throws for upstream trouble; should a bug make it throw, the slot is still freed.
    releaseWith(lease, result, ctx);
  }
  if (hedged && started.kind !== 'failed')
    deps.metrics.hedgeWins.inc({ upstream: lease.upstream.name, winner: lease === picked.lease ? 'first' : 'hedge' });
  deps.hedging.observe(served, kind, result.firstTokenMs);
  return { result, lease, served, messages: started.kind !== 'failed' && started.messages };
}

/** Gives the lease back with what its attempt showed (cancelled, should a bug have left no result). */
function releaseWith(lease: Lease, r: AttemptResult | undefined, ctx: RequestContext): void {
  if (r === undefined) return lease.release({ kind: 'cancelled' });
  const { firstTokenMs, streamed, answerTokens } = r;
  const promptTokens = ctx.call === undefined ? undefined : promptTokensOf(ctx.call.body);
  lease.release(r.outcome, { firstTokenMs, streamed, answerTokens, promptTokens });
}

/** How much later than its peers this request's hedge goes, from what its first lease's upstream has shown. */
function hedgeScaleOf(ctx: RequestContext, lease: Lease, kind: PeerKind, deps: TryDeps): HedgeScale | undefined {
  const call = ctx.call;
  if (call === undefined) return undefined;
  return hedgeScale({
    stream: kind.stream,
    promptTokens: promptTokensOf(call.body),
    maxTokens: maxTokensOf(call.body),
    learned: deps.pools.timing.learned(lease.upstream.name, lease.route.model, kind.stream, kind.shape),
  });
}

/** A lease the account gate admits: a refusal rests that account here too and chooses again (not an attempt). */
async function bind(ctx: RequestContext, plan: TryPlan, deps: TryDeps): Promise<Picked | { error: SpillwayError }> {
  const b = plan.binding;
  for (;;) {
    const picked = await plan.chain.pick(ctx, deps.queue, b.mode, plan.continuation.tokensLeft);
    if ('error' in picked || deps.gate === undefined) return picked;
    const g = await admitLease(
      deps.gate,
      picked.lease,
      `${ctx.id}:${plan.attempt}:${b.gateRefusals}`,
      b.tokens,
      deps.config.retry.cooldownDefaultMs,
    );
    if (g.ok) return picked;
    if (++b.gateRefusals > MAX_GATE_REFUSALS)
      return {
        error: new SpillwayError('no_capacity', 'Every upstream account is at its limit.', {
          retryAfterS: Math.max(1, Math.ceil(g.restMs / 1000)),
        }),
      };
  }
}

function announce(ctx: RequestContext, lease: Lease, served: ModelConfig, hedged: boolean): void {
  ctx.upstream = lease.upstream.name;
  ctx.attempts += hedged ? 2 : 1;
  if (ctx.res.headersSent) return;
  ctx.res.setHeader('x-spillway-upstream', lease.upstream.name);
  ctx.res.setHeader('x-spillway-attempts', String(ctx.attempts));
  ctx.res.setHeader('x-spillway-model', served.name);
}
