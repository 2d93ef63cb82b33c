import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer, Lease } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Call, RequestContext } from '../server/context.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { endStreamWithError } from '../relay/relay-sse.ts';
import { StreamText } from '../relay/stream-text.ts';
import { finishAttempt, type AttemptResult } from './attempt.ts';
import { backoffDelayMs } from './backoff.ts';
import { continuationBody, continuationMode, continuationRoutes, lengthFinish, mayContinue, tokensLeft, type ContinuationMode } from './continuation.ts';
import { startWithHedge, type Launch } from './hedge.ts';
import { decideRetry } from './retry-decision.ts';
import type { RetryBudgets } from './retry-budgets.ts';
import type { AdmissionQueue, LeaseMode } from '../queue/admission-queue.ts';
import { isPushback, PUSHBACKS_PER_ROUTE } from './pushback.ts';
import type { AccountGate } from '../balance/account-gate.ts';
import { estimateTokens } from '../admission/estimate-tokens.ts';
import { sleep } from './sleep.ts';
import { withRouteParams } from '../route/route-params.ts';
import { TtftTracker } from './ttft-tracker.ts';
import { servesMessages, servesOpenAi } from '../upstream/upstream-api.ts';

/** The shortest an attempt could take: a retry that cannot even start this long before the deadline is not made. */
const MIN_ATTEMPT_MS = 20;
/** Samples needed before the hedge delay follows the percentile instead of max_delay. */
const HEDGE_MIN_SAMPLES = 20;
/**
 * A safety net only: each refusal rests that account for a while, so once every account rests the request waits
 * in the queue (bounded by its deadline) rather than spinning here.
 */
const MAX_GATE_REFUSALS = 1000;

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

/**
 * The attempt loop: lease a route (balance), send (upstream), relay; on a retryable failure, back off and try
 * another upstream, then the model's fallbacks — within the attempt cap, the retry budgets and the deadline.
 * A slow first token may be hedged on a second upstream; a stream cut after content reached the client is
 * continued where the model allows it. When the loop stops, the client hears the last real failure at once.
 */
export function dispatchStage(deps: DispatchDeps): Stage<RequestContext> {
  const { config, budgets, clock, metrics } = deps;
  const random = deps.random ?? Math.random;
  const backoff = { baseMs: config.retry.backoffBaseMs, capMs: config.retry.backoffCapMs };
  const ttfts = new Map(Object.keys(config.models).map((m) => [m, new TtftTracker()]));
  const kindOf = (upstream: string) => deps.pools.kind(upstream);
  const modeOf = (m: ModelConfig, lease: Lease): ContinuationMode => continuationMode(m.continuation, kindOf(lease.upstream.name));
  // Models as requests other than the Messages door's see them: without routes to Messages-only upstreams.
  const openAi = openAiModels(config);
  return {
    name: 'dispatch',
    async run(ctx) {
      const call = ctx.call;
      const model = ctx.model;
      if (call === undefined || model === undefined) throw new Error('dispatch needs a call and a model');
      const full = [model, ...model.fallback.flatMap((n) => config.models[n] ?? [])];
      const chain = call.native === undefined && openAi.size > 0 ? openAiChain(openAi, full) : full;
      // A request that is already the SDK's own retry gets fewer gateway retries: the two would multiply.
      const clientRetries = Number(ctx.req.headers['x-stainless-retry-count']) || 0;
      const maxAttempts = Math.max(1, config.retry.maxAttempts - clientRetries);
      const track = call.stream && mayContinue(chain, kindOf) ? new StreamText() : undefined;
      let continuing: { id: string | undefined } | undefined;
      const failed = new Set<string>();
      /** Upstreams that answered this request "busy": passed over while another route has room. */
      const pushedBy = new Set<string>();
      const maxPushbacks = PUSHBACKS_PER_ROUTE * chain.reduce((n, m) => n + m.routes.length, 0);
      let active: readonly ModelConfig[] = chain;
      let link = 0;
      let last: AttemptResult | undefined;
      let gateRefusals = 0;
      let pushbacks = 0;
      let mode: LeaseMode = 'new';
      const tokens = deps.gate === undefined ? 0 : estimateTokens(call.body);
      for (let attempt = 1; ; attempt++) {
        const picked = await pick(ctx, deps.queue, active, link, failed, pushedBy, mode);
        if ('error' in picked) return finish(ctx, last, picked.error);
        let gateDone: ((retryAfterMs?: number) => void) | undefined;
        if (deps.gate !== undefined) {
          const g = await deps.gate.admit(picked.lease, `${ctx.id}:${attempt}:${gateRefusals}`, tokens);
          if (!g.ok) {
            // That account is full or limited fleet-wide: rest it here too and choose again (not an attempt).
            picked.lease.rest(g.restMs);
            attempt--;
            if (++gateRefusals > MAX_GATE_REFUSALS) return finish(ctx, last, new SpillwayError('no_capacity', 'Every upstream account is at its limit.', { retryAfterS: Math.max(1, Math.ceil(g.restMs / 1000)) }));
            continue;
          }
          gateDone = g.done;
        }
        link = picked.link;
        const served = active[link] as ModelConfig;
        // A Messages request goes as it is to an upstream that serves the Messages API (a continuation never does:
        // it continues a chat answer).
        const passThrough = (lease: Lease): boolean => call.native !== undefined && continuing === undefined && servesMessages(lease.upstream.api, kindOf(lease.upstream.name));
        const launch = (lease: Lease): Launch => {
          const messages = passThrough(lease);
          return { lease, messages, body: messages ? messagesBody(call, lease) : requestBody(call, lease, modeOf(served, lease), track, continuing !== undefined) };
        };
        if (attempt === 1 && pushbacks === 0) budgets.recordFirstAttempt(picked.lease.upstream.name);
        const first: Launch = launch(picked.lease);
        const hedgeDelay = continuing === undefined ? hedgeDelayMs(served, ttfts.get(served.name)) : undefined;
        const hedge = async (): Promise<Launch | undefined> => {
          // A hedge is a luxury: never with a slot another request waits for, never past the retry budget — which
          // is taken only once the hedge is sure to be sent (a hedge with no slot or refused by its gate costs none).
          if (deps.queue.depth > 0 || !budgets.canRetry(first.lease.upstream.name)) return undefined;
          let lease: Lease;
          try {
            lease = deps.queue.acquireNow(served, new Set([...failed, first.lease.upstream.name]));
          } catch {
            return undefined;
          }
          if (lease.upstream.name === first.lease.upstream.name) {
            lease.release({ kind: 'cancelled' });
            return undefined;
          }
          // Its account's limits and fleet-wide cap hold for a hedge as for any attempt.
          if (deps.gate !== undefined && !(await gated(deps.gate, lease, `${ctx.id}:${attempt}:hedge`, tokens, config.retry.cooldownDefaultMs))) return undefined;
          if (!budgets.tryRetry(first.lease.upstream.name)) {
            lease.rest(0); // spent by another request meanwhile: the slot goes back unused
            return undefined;
          }
          metrics.hedges.inc({ model: served.name });
          return launch(lease);
        };
        const { started, lease, hedged } = await startWithHedge(ctx, first, hedgeDelay, hedge, deps);
        announce(ctx, lease, served, hedged);
        let result: AttemptResult | undefined;
        try {
          result = started.kind === 'failed' ? started.result : await finishAttempt(ctx, started, lease, served.name, { track, continuing }, deps);
        } finally {
          // finishAttempt never throws for upstream trouble; should a bug make it throw, the slot is still freed.
          lease.release(result?.outcome ?? { kind: 'cancelled' }, result?.firstTokenMs);
          const o = result?.outcome;
          gateDone?.(o?.kind === 'rate_limited' ? (o.retryAfterMs ?? config.retry.cooldownDefaultMs) : undefined);
        }
        if (hedged && started.kind !== 'failed') metrics.hedgeWins.inc({ upstream: lease.upstream.name, winner: lease === first.lease ? 'first' : 'hedge' });
        if (result.firstTokenMs !== undefined) ttfts.get(served.name)?.add(result.firstTokenMs);
        last = result;
        if (result.outcome.kind === 'ok' || result.outcome.kind === 'cancelled') {
          if (continuing !== undefined && result.outcome.kind === 'ok') metrics.continuations.inc({ model: model.name, result: 'completed' });
          return;
        }
        if (isPushback(result.outcome) && !result.contentSent && ++pushbacks <= maxPushbacks) {
          // Busy is not failure: back to the queue in its place, no attempt or retry budget spent, no sleep (a long
          // Retry-After rests that account, never this request: balancer.ts). The deadline bounds the wait.
          metrics.pushbacks.inc({ upstream: lease.upstream.name });
          pushedBy.add(lease.upstream.name);
          attempt--;
          if (mode === 'new') mode = 'pushback';
          continue;
        }
        failed.add(lease.upstream.name);
        mode = 'retry';
        // A passed-through Messages stream is not continued: its events are not the chat chunks a continuation extends.
        const chatAnswer = !(started.kind !== 'failed' && started.messages);
        if (chatAnswer && result.contentSent && track !== undefined && track.continuable && tokensLeft(call.body, track) === 0 && !ctx.res.writableEnded) {
          // Cut after its last allowed token: complete, only the finish event was lost. End it as the upstream would.
          ctx.res.end(lengthFinish(track, served.name));
          metrics.continuations.inc({ model: model.name, result: 'completed' });
          return;
        }
        const canContinue = chatAnswer && result.contentSent && track !== undefined && track.continuable && track.events > 0 && modeOf(served, lease) !== 'off';
        const alternatives = chain.some((m) => m.routes.some((r) => !failed.has(r.upstream)));
        const verdict = decideRetry({
          outcome: canContinue ? asRetryable(result.outcome) : result.outcome,
          committed: result.contentSent && !canContinue,
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
          if (canContinue || continuing !== undefined) metrics.continuations.inc({ model: model.name, result: 'gave_up' });
          return finish(ctx, { ...result, contentSent: result.contentSent || continuing !== undefined }, undefined);
        }
        if (canContinue) {
          // The rest of the answer must come from the model that wrote its beginning, continued the same way.
          continuing = { id: track.id };
          active = [continuationRoutes(served, modeOf(served, lease), kindOf)];
          link = 0;
          metrics.continuations.inc({ model: model.name, result: 'started' });
        }
        metrics.retries.inc({ upstream: lease.upstream.name, outcome: result.outcome.kind });
        await sleep(verdict.delayMs, ctx.clientGone);
        if (ctx.clientGone.aborted) return;
      }
    },
  };
}

/**
 * Asks the account gate for a lease taken outside the attempt loop (a hedge): refused, the account rests and the
 * slot goes back; admitted, the gate's slot is given back when the lease is, whoever releases it.
 */
async function gated(gate: AccountGate, lease: Lease, leaseId: string, tokens: number, cooldownMs: number): Promise<boolean> {
  const g = await gate.admit(lease, leaseId, tokens);
  if (!g.ok) {
    lease.rest(g.restMs);
    return false;
  }
  const release = lease.release;
  lease.release = (outcome, firstTokenMs) => {
    release(outcome, firstTokenMs);
    g.done(outcome.kind === 'rate_limited' ? (outcome.retryAfterMs ?? cooldownMs) : undefined);
  };
  return true;
}

/**
 * A passed-through Messages request's body for a route: its model renamed, the route's params it did not set added,
 * and degrade mode's lower `max_tokens` (set on the chat body) applied to it too.
 */
function messagesBody(call: Call, lease: Lease): string {
  const native = call.native as NonNullable<Call['native']>;
  const body = withRouteParams({ ...call, body: { ...native.body } }, lease.route.params) ?? native.body;
  const cap = call.body.max_tokens;
  const asked = body.max_tokens;
  const capped = typeof cap === 'number' && typeof asked === 'number' && cap < asked ? { max_tokens: cap } : {};
  return JSON.stringify({ ...body, ...capped, model: lease.route.model });
}

/**
 * The models whose routes change for OpenAI-shaped requests (some go to Messages-only upstreams): each with only
 * the routes such requests may take, or null when none is left. Built once; empty when no upstream is Messages-only.
 */
function openAiModels(config: Config): ReadonlyMap<string, ModelConfig | null> {
  const messagesOnly = new Set(config.upstreams.filter((u) => !servesOpenAi(u)).map((u) => u.name));
  const out = new Map<string, ModelConfig | null>();
  if (messagesOnly.size === 0) return out;
  for (const m of Object.values(config.models)) {
    const routes = m.routes.filter((r) => !messagesOnly.has(r.upstream));
    if (routes.length < m.routes.length) out.set(m.name, routes.length === 0 ? null : { ...m, routes });
  }
  return out;
}

/** A model and its fallbacks as an OpenAI-shaped request may use them; refused when only Messages-only upstreams serve it. */
function openAiChain(changed: ReadonlyMap<string, ModelConfig | null>, full: readonly ModelConfig[]): ModelConfig[] {
  const chain = full.flatMap((m) => (changed.has(m.name) ? (changed.get(m.name) ?? []) : m));
  if (chain.length === 0) {
    const name = full[0]?.name ?? '';
    throw new SpillwayError('messages_api_only', `The model '${name}' is served only by upstreams that speak the Anthropic Messages API (api: anthropic): send it to /v1/messages.`, { param: 'model' });
  }
  return chain;
}

/** The body for an attempt: the client's bytes when nothing changes, renamed (and given the route's params) for the route, or a continuation. */
function requestBody(call: Call, lease: Lease, mode: ContinuationMode, track: StreamText | undefined, continuing: boolean): Buffer | string {
  const withParams = withRouteParams(call, lease.route.params);
  if (continuing && track !== undefined && mode !== 'off') return continuationBody(withParams ?? call.body, lease.route.model, mode, track);
  if (withParams === undefined && lease.route.model === call.model) return call.raw;
  return JSON.stringify({ ...(withParams ?? call.body), model: lease.route.model });
}

function hedgeDelayMs(model: ModelConfig, ttft: TtftTracker | undefined): number | undefined {
  const h = model.hedge;
  if (h === null) return undefined;
  const p = ttft?.percentile(h.percentile, HEDGE_MIN_SAMPLES) ?? h.maxDelayMs;
  return Math.min(h.maxDelayMs, Math.max(h.minDelayMs, p));
}

/** A cut that can be continued is, for the retry decision, a failure before the first byte of what is left. */
function asRetryable(o: Outcome): Outcome {
  if (o.kind === 'reset') return { ...o, afterFirstByte: false };
  if (o.kind === 'timeout') return { ...o, afterFirstByte: false, phase: o.phase === 'idle' ? 'first_token' : o.phase };
  return o;
}

/**
 * The next lease: the current link of the chain while it has a route that has not failed, else the next link.
 * When every link is busy, the request waits in line for its first eligible link (late binding).
 */
async function pick(ctx: RequestContext, queue: AdmissionQueue, chain: readonly ModelConfig[], from: number, failed: ReadonlySet<string>, pushedBy: ReadonlySet<string>, mode: LeaseMode): Promise<{ lease: Lease; link: number } | { error: SpillwayError }> {
  let first: number | undefined;
  const avoid = pushedBy.size === 0 ? failed : new Set([...failed, ...pushedBy]);
  queue.arrive(mode !== 'new');
  for (let link = from; link < chain.length; link++) {
    const m = chain[link] as ModelConfig;
    const isLast = link === chain.length - 1;
    if (!isLast && m.routes.every((r) => failed.has(r.upstream))) continue;
    first ??= link;
    if (queue.depth > 0) break; // others are already waiting: no overtaking them
    try {
      return { lease: queue.acquireNow(m, avoid), link };
    } catch (err) {
      if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
    }
  }
  const link = first ?? chain.length - 1;
  try {
    return { lease: await queue.lease(ctx, chain[link] as ModelConfig, avoid, mode), link };
  } catch (err) {
    if (err instanceof SpillwayError) return { error: err };
    throw err;
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
  endStreamWithError(ctx, new SpillwayError('stream_interrupted', `The stream was interrupted: ${why}. The answer is ${last?.contentSent === true ? 'incomplete' : 'missing'}.`));
}
