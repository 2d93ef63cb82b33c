import type { Config, ModelConfig } from '../config/types.ts';
import type { AccountGate } from '../balance/account-gate.ts';
import type { Lease } from '../balance/lease.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { AdmissionQueue } from '../queue/admission-queue.ts';
import type { RequestContext } from '../server/context.ts';
import { admitLease } from './admit-lease.ts';
import type { HedgeOffer, Launch, PreparedHedge } from './hedge.ts';
import type { RetryBudgets } from './retry-budgets.ts';
import { TtftTracker } from './ttft-tracker.ts';
import { promptSizeFactor, type Learned } from '../upstream/adaptive-timeouts.ts';
import type { RequestShape } from '../upstream/timeout-learner.ts';

/** Samples needed before the hedge delay follows the percentile instead of max_delay. */
const HEDGE_MIN_SAMPLES = 20;

export interface HedgingDeps {
  queue: AdmissionQueue;
  budgets: RetryBudgets;
  gate?: AccountGate | undefined;
  metrics: Metrics;
  cooldownDefaultMs: number;
}

/** What a try offers a hedge: its model, its first lease, where not to go, and how to build the body. */
export interface HedgeRequest {
  served: ModelConfig;
  first: Lease;
  /** Upstreams that failed this request (the first lease's own is avoided too). */
  avoid: ReadonlySet<string>;
  leaseId: string;
  /** When the request's first attempt deposited into the retry budgets: a hedge is charged to it too. */
  depositedAt?: number;
  tokens: number;
  /** Whose first tokens are its peers (`PeerKind`). */
  kind: PeerKind;
  /** How much later than its peers' percentile this request's hedge goes (`hedgeScale`); as its peers when absent. */
  scale?: HedgeScale;
  /** What the attempt on a lease sends (stream-continuation.ts). */
  launch: (lease: Lease) => Launch;
}

export type HedgeVerdict = 'send' | 'client_gone' | 'first_settled' | 'no_budget';

export interface HedgeScale {
  /** The delay's multiple. */
  factor: number;
  /** False for a non-stream answer of unknown length: its peers' times say nothing of it, so it waits max_delay. */
  lengthKnown: boolean;
}

/**
 * How much later than its peers' percentile a request is late (pure). A prompt longer than those its upstream's
 * first tokens were learned on waits for its prefill (adaptive-timeouts.ts `promptSizeFactor`): hedged at the short
 * prompts' percentile, it would only be prefilled twice. A non-stream answer's first byte is its whole answer, so it
 * is also as much later as it may be longer than the answers there usually are (its `max_tokens` over their 90th
 * percentile): a long answer is not late for being long. Without `max_tokens`, or before its upstream has reported
 * the lengths of 20 answers, its length is unknown.
 */
export function hedgeScale(r: {
  stream: boolean;
  promptTokens: number;
  maxTokens: number | undefined;
  learned: Learned;
}): HedgeScale {
  const factor = promptSizeFactor(r.promptTokens, r.learned.promptTokens);
  if (r.stream) return { factor, lengthKnown: true };
  const usual = r.learned.answerTokens;
  if (r.maxTokens === undefined || usual === undefined || !(usual > 0)) return { factor, lengthKnown: false };
  return { factor: factor * Math.max(1, r.maxTokens / usual), lengthKnown: true };
}

/**
 * Whether a prepared hedge (slot and gate had, both of which await) is sent now (pure). Not when the client left or
 * the first attempt settled meanwhile: it is no longer needed. The retry budget is taken last, so only a hedge
 * that is really sent spends one.
 */
export function hedgeVerdict(s: {
  clientGone: boolean;
  firstSettled: boolean;
  takeBudget: () => boolean;
}): HedgeVerdict {
  if (s.clientGone) return 'client_gone';
  if (s.firstSettled) return 'first_settled';
  return s.takeBudget() ? 'send' : 'no_budget';
}

/**
 * TTFT hedging: a first attempt still without its first token past the p-th percentile of its model's recent
 * peers is probably stuck behind a busy upstream, so a second one goes to another upstream (hedge.ts races them).
 * A hedge is a luxury: never with a slot another request waits for, never past the retry budget.
 */
export class Hedging {
  /** By model and stream or not: a non-stream "first token" is a whole answer, no peer of a stream's. */
  private readonly ttfts: Map<string, TtftTracker>;
  private readonly deps: HedgingDeps;

  constructor(models: Config['models'], deps: HedgingDeps) {
    this.ttfts = new Map(
      Object.keys(models).flatMap((m) =>
        KINDS.map((k): [string, TtftTracker] => [trackerKey(m, k), new TtftTracker()]),
      ),
    );
    this.deps = deps;
  }

  /** A time to first token seen on `model` (a whole answer's time, not streamed): the hedge delay follows them. */
  observe(model: ModelConfig, kind: PeerKind, firstTokenMs: number | undefined): void {
    if (firstTokenMs !== undefined) this.ttfts.get(trackerKey(model.name, kind))?.add(firstTokenMs);
  }

  /** The hedge a try may send, or undefined when its model hedges not at all. */
  offer(ctx: RequestContext, r: HedgeRequest): HedgeOffer | undefined {
    const h = r.served.hedge;
    if (h === null) return undefined;
    const scale = r.scale ?? { factor: 1, lengthKnown: true };
    const peers = scale.lengthKnown ? this.ttfts.get(trackerKey(r.served.name, r.kind)) : undefined;
    const p = peers?.percentile(h.percentile, HEDGE_MIN_SAMPLES) ?? h.maxDelayMs;
    const delayMs = Math.min(h.maxDelayMs, Math.max(h.minDelayMs, p)) * scale.factor;
    return { delayMs, prepare: () => this.prepare(ctx, r) };
  }

  /** A second lease, admitted by its gate and ready to send; undefined when no slot, no other upstream or no budget. */
  private async prepare(ctx: RequestContext, r: HedgeRequest): Promise<PreparedHedge | undefined> {
    const { queue, budgets, gate } = this.deps;
    const firstOn = r.first.upstream.name;
    if (queue.depth > 0 || !budgets.canRetry(firstOn)) return undefined;
    let lease: Lease;
    try {
      lease = queue.acquireNow(r.served, new Set([...r.avoid, firstOn]), ctx);
    } catch {
      return undefined;
    }
    if (lease.upstream.name === firstOn) {
      lease.release({ kind: 'cancelled' });
      return undefined;
    }
    // Its account's limits and fleet-wide cap hold for a hedge as for any attempt.
    if (gate !== undefined && !(await admitLease(gate, lease, r.leaseId, r.tokens, this.deps.cooldownDefaultMs)).ok)
      return undefined;
    return { ...r.launch(lease), send: (firstSettled) => this.send(ctx, r, lease, firstSettled) };
  }

  private send(ctx: RequestContext, r: HedgeRequest, lease: Lease, firstSettled: boolean): boolean {
    const verdict = hedgeVerdict({
      clientGone: ctx.clientGone.aborted,
      firstSettled,
      takeBudget: () => this.deps.budgets.tryRetry(r.first.upstream.name, r.depositedAt),
    });
    if (verdict !== 'send') {
      lease.rest(0); // not needed, or the budget was spent by another request meanwhile: the slot goes back unused
      return false;
    }
    this.deps.metrics.hedges.inc({ model: r.served.name });
    return true;
  }
}

/**
 * Whose first tokens are a request's peers: a stream's (its first token) or a non-stream answer's (the whole
 * answer), plain or structured (a grammar compiled before the first token).
 */
export interface PeerKind {
  stream: boolean;
  shape: RequestShape;
}

const KINDS: readonly PeerKind[] = [true, false].flatMap((stream) =>
  (['plain', 'structured'] as const).map((shape) => ({ stream, shape })),
);

function trackerKey(model: string, k: PeerKind): string {
  return `${model}\u0000${k.stream ? 's' : 'j'}\u0000${k.shape}`;
}
