import type { ModelConfig } from '../config/types.ts';
import type { Lease } from '../balance/lease.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { StreamOptions } from '../relay/relay-sse.ts';
import { StreamText } from '../relay/stream-text.ts';
import { withRouteParams } from '../route/route-params.ts';
import type { Call, RequestContext } from '../server/context.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import type { AttemptResult, PaceCut } from './attempt.ts';
import type { Launch } from './hedge.ts';
import { messagesBody } from './messages-routes.ts';
import { servesMessages } from '../upstream/upstream-api.ts';
import {
  continuationBody,
  continuationMode,
  continuationRoutes,
  continuesSomewhere,
  lengthFinish,
  mayContinue,
  tokensLeft,
  type ContinuationMode,
} from './continuation.ts';

/**
 * Mid-stream recovery for one request: a stream cut after content reached the client is continued where the model
 * allows it (continuation.ts says how), from the text tracked as it was relayed. Before its first byte an attempt
 * is retried like any other; after it, only a continuation can still complete the answer.
 */
export class StreamContinuation {
  private readonly call: Call;
  private readonly kindOf: (upstream: string) => UpstreamKind;
  private readonly count: (result: 'started' | 'completed' | 'gave_up') => void;
  /** The text sent so far, tracked only when some route of the chain could continue it. */
  private readonly track: StreamText | undefined;
  /** Set once a continuation started: the id the continued answer keeps. */
  private continuing: { id: string | undefined } | undefined;

  constructor(
    call: Call,
    chain: readonly ModelConfig[],
    kindOf: (upstream: string) => UpstreamKind,
    publicModel: string,
    metrics: Metrics,
  ) {
    this.call = call;
    this.kindOf = kindOf;
    this.count = (result) => metrics.continuations.inc({ model: publicModel, result });
    this.track = call.stream && mayContinue(chain, kindOf) ? new StreamText() : undefined;
  }

  /** Whether the attempts now continue an answer already begun (no hedging then: one writer per answer). */
  get active(): boolean {
    return this.continuing !== undefined;
  }

  /** What the relay needs to track the text and keep the answer's id. */
  get relay(): Pick<StreamOptions, 'track' | 'continuing'> {
    return { track: this.track, continuing: this.continuing };
  }

  /**
   * Whether the attempt on `lease` may be cut for a crawling pace, with the tokens the request may still produce:
   * only where its continuation is exact — elsewhere the cut would end the stream broken.
   */
  private pace(served: ModelConfig): PaceCut | undefined {
    if (this.track === undefined || !continuesSomewhere(served, this.kindOf)) return undefined;
    return { tokensLeft: tokensLeft(this.call.body, this.track) };
  }

  /**
   * What an attempt on `lease` sends: a Messages request as it is to an upstream that serves the Messages API (a
   * continuation never is: it continues a chat answer), else the chat body — and whether a crawl may be cut.
   */
  launch(lease: Lease, served: ModelConfig): Launch {
    const messages =
      this.call.native !== undefined &&
      this.continuing === undefined &&
      servesMessages(lease.upstream.api, this.kindOf(lease.upstream.name));
    if (messages) return { lease, body: messagesBody(this.call, lease), messages };
    return { lease, body: this.body(lease, served), pace: this.pace(served), messages };
  }

  /** The body for an attempt: the client's bytes when nothing changes, renamed (with the route's params), or a continuation. */
  private body(lease: Lease, served: ModelConfig): Buffer | string {
    const call = this.call;
    const withParams = withRouteParams(call, lease.route.params);
    const mode = this.modeOf(served, lease);
    if (this.continuing !== undefined && this.track !== undefined && mode !== 'off')
      return continuationBody(withParams ?? call.body, lease.route.model, mode, this.track);
    if (withParams === undefined && lease.route.model === call.model) return call.raw;
    return JSON.stringify({ ...(withParams ?? call.body), model: lease.route.model });
  }

  /** Cut after its last allowed token: the answer is complete, only its finish event was lost. */
  cutAtLimit(ctx: RequestContext, result: AttemptResult): boolean {
    return (
      result.contentSent &&
      this.track !== undefined &&
      this.track.continuable &&
      tokensLeft(this.call.body, this.track) === 0 &&
      !ctx.res.writableEnded
    );
  }

  /** Ends an answer cut at its limit as the upstream would have (finish_reason "length"). */
  endAtLimit(ctx: RequestContext, served: ModelConfig): void {
    ctx.res.end(lengthFinish(this.track as StreamText, served.name));
    this.count('completed');
  }

  /** Whether what an attempt cut after content reached the client can be continued on some route of `served`. */
  canContinue(result: AttemptResult, served: ModelConfig): boolean {
    return (
      result.contentSent &&
      this.track !== undefined &&
      this.track.continuable &&
      this.track.events > 0 &&
      continuesSomewhere(served, this.kindOf)
    );
  }

  /** Starts continuing: the rest must come from the model that wrote the beginning, on a route that continues it. */
  start(served: ModelConfig, lease: Lease): ModelConfig {
    this.continuing = { id: this.track?.id };
    this.count('started');
    return continuationRoutes(served, this.modeOf(served, lease), this.kindOf);
  }

  /** The request's answer is complete: a continuation, if one ran, succeeded. */
  succeeded(): void {
    if (this.continuing !== undefined) this.count('completed');
  }

  /** The loop stopped on a failure: a continuation that was, or could have been, under way gave up. */
  stopped(couldContinue: boolean): void {
    if (couldContinue || this.continuing !== undefined) this.count('gave_up');
  }

  private modeOf(served: ModelConfig, lease: Lease): ContinuationMode {
    return continuationMode(served.continuation, this.kindOf(lease.upstream.name));
  }
}
