import type { RouteConfig, UpstreamConfig } from '../config/types.ts';
import type { Outcome } from '../upstream/outcome.ts';

/** What an attempt showed of its upstream, for the balancer to learn from; each part only when it was seen. */
export interface Shown {
  /** How long the upstream took to start answering (feeds the latency estimate). */
  readonly firstTokenMs?: number | undefined;
  /** `firstTokenMs` is a stream's first content (a whole answer's "first token" is its end). */
  readonly streamed?: boolean | undefined;
  /** A whole answer's generated tokens, when its usage told them. */
  readonly answerTokens?: number | undefined;
  /** The request's prompt, in estimated tokens: a long one takes longer to its first token. */
  readonly promptTokens?: number | undefined;
}

/** How a lease ended, as every release listener sees it. */
export interface LeaseEnd extends Shown {
  readonly outcome: Outcome;
  /** Given back by `rest` before anything was sent: the upstream was not tried, so there is nothing to learn. */
  readonly unused: boolean;
}

export type ReleaseListener = (end: LeaseEnd) => void;

/** What the lease's grantor (the balancer) does with it. */
export interface LeaseOwner {
  /** Frees the slot, learns from the end and wakes whoever waits for a slot: runs after every listener. */
  settle: ReleaseListener;
  /** Rests the lease's account for `ms` (called by `rest`, before the lease is given back). */
  rest: (ms: number) => void;
  /** A caller broke the lifecycle (a second release): told here, never acted on twice. */
  misuse: (lease: Lease, what: string) => void;
}

interface LeaseFields {
  route: RouteConfig;
  upstream: UpstreamConfig;
  account: string;
  apiKey: string | undefined;
}

/**
 * A permit to send one attempt to one upstream account, released exactly once with the attempt's outcome.
 *
 * Whoever holds a lease for a while and must know when it ends (the admission queue counting held leases, the
 * account gate holding a fleet-wide slot) adds a listener instead of wrapping `release` — the way undici's
 * decorator handlers compose an attempt's lifecycle hooks without one layer having to know the others. Listeners run
 * in the order added, then the owner's `settle`: the slot is freed, and a waiter woken, only once everyone who held
 * the lease has seen it end. A listener that throws does not stop the others or the owner (a leaked slot would
 * lower the cap for good); its error is rethrown once all have run.
 *
 * A second release is a bug in the caller, but it is reported (`owner.misuse`) and ignored rather than thrown:
 * releases run in `finally` blocks and in the callbacks of cancelled hedges, where a throw would replace the
 * request's real outcome with an internal error or crash the process on an unhandled rejection, while the damage
 * a second release could do — freeing the slot twice, so a cap is exceeded — is exactly what this guard prevents.
 */
export class Lease {
  readonly route: RouteConfig;
  readonly upstream: UpstreamConfig;
  readonly account: string;
  readonly apiKey: string | undefined;
  private readonly owner: LeaseOwner;
  private listeners: ReleaseListener[] = [];
  private ended: LeaseEnd | undefined;

  constructor(fields: LeaseFields, owner: LeaseOwner) {
    this.route = fields.route;
    this.upstream = fields.upstream;
    this.account = fields.account;
    this.apiKey = fields.apiKey;
    this.owner = owner;
  }

  get released(): boolean {
    return this.ended !== undefined;
  }

  /** Calls `listener` when the lease ends; at once when it already has (as a settled promise's `then` would). */
  onRelease(listener: ReleaseListener): void {
    if (this.ended === undefined) this.listeners.push(listener);
    else listener(this.ended);
  }

  /** The attempt ended with `outcome`, having shown `shown` of its upstream. */
  release(outcome: Outcome, shown: Shown = {}): void {
    if (this.ended !== undefined) return this.owner.misuse(this, 'released twice');
    const { firstTokenMs, streamed = false, answerTokens, promptTokens } = shown;
    this.end({
      outcome,
      firstTokenMs,
      streamed,
      unused: false,
      ...(answerTokens !== undefined && { answerTokens }),
      ...(promptTokens !== undefined && { promptTokens }),
    });
  }

  /** Rests this lease's account for `ms` (its shared limits said no) and gives the slot back unused. */
  rest(ms: number): void {
    this.owner.rest(ms);
    if (this.ended !== undefined) return this.owner.misuse(this, 'rested after its release');
    this.end({ outcome: { kind: 'cancelled' }, unused: true });
  }

  private end(end: LeaseEnd): void {
    this.ended = end;
    let errors: unknown[] | undefined;
    for (const listener of this.listeners) {
      try {
        listener(end);
      } catch (err) {
        (errors ??= []).push(err);
      }
    }
    try {
      this.owner.settle(end);
    } catch (err) {
      (errors ??= []).push(err);
    }
    if (errors === undefined) return;
    if (errors.length === 1) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
    throw new AggregateError(errors, `${errors.length} release listeners of a lease on ${this.upstream.name} failed`);
  }
}
