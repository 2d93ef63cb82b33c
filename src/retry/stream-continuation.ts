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
import { clientPrefill, messagesBody, messagesContinuationBody } from './messages-routes.ts';
import { servesNative } from '../upstream/upstream-api.ts';
import { MessagesText } from '../relay/messages-text.ts';
import type { MessagesStreamOptions } from '../relay/relay-messages.ts';
import {
  continuationBody,
  continuationMode,
  continuationRoutes,
  continuesSomewhere,
  continuesMessages,
  lengthFinish,
  mayContinue,
  mayContinueMessages,
  messagesContinuationRoutes,
  tokensLeft,
  type ContinuationMode,
  type RouteApis,
} from './continuation.ts';

/**
 * Mid-stream recovery for one request: a stream cut after content reached the client is continued where the model
 * allows it (continuation.ts says how), from the text tracked as it was relayed. Before its first byte an attempt
 * is retried like any other; after it, only a continuation can still complete the answer.
 *
 * Two kinds of answer are continued: a chat stream (chat chunks, StreamText) and a Messages door's stream passed
 * through to a Messages upstream (Messages events, MessagesText), which is continued by a prefill on a Messages
 * upstream and spliced into the client's message (relay/messages-splice.ts). Each is continued in its own form.
 */
export class StreamContinuation {
  private readonly call: Call;
  private readonly kindOf: (upstream: string) => UpstreamKind;
  private readonly apis: RouteApis;
  private readonly count: (result: 'started' | 'completed' | 'gave_up') => void;
  /** The text sent so far, tracked only when some route of the chain could continue it. */
  private readonly track: StreamText | undefined;
  /** The same for a passed-through Messages stream. */
  private readonly messagesTrack: MessagesText | undefined;
  /** Set once a continuation started: the id the continued answer keeps, and which kind of answer it continues. */
  private continuing: { id: string | undefined; messages: boolean } | undefined;

  constructor(call: Call, chain: readonly ModelConfig[], apis: RouteApis, publicModel: string, metrics: Metrics) {
    this.call = call;
    this.kindOf = apis.kindOf;
    this.apis = apis;
    this.count = (result) => metrics.continuations.inc({ model: publicModel, result });
    this.track = call.stream && mayContinue(chain, apis.kindOf) ? new StreamText() : undefined;
    const native = call.native;
    // A passed-through Responses stream is not continued: a cut one ends with an in-band error event.
    this.messagesTrack =
      call.stream &&
      native?.api === 'anthropic' &&
      mayContinueMessages(chain, apis) &&
      clientPrefill(Array.isArray(native.body.messages) ? native.body.messages : []) !== null
        ? new MessagesText()
        : undefined;
  }

  /** Whether the attempts now continue an answer already begun (no hedging then: one writer per answer). */
  get active(): boolean {
    return this.continuing !== undefined;
  }

  /** While continuing: the tokens the answer may still produce (undefined when it set no `max_tokens`). */
  get tokensLeft(): number | undefined {
    const sent = this.continuing?.messages === true ? this.messagesTrack : this.track;
    return this.continuing === undefined || sent === undefined ? undefined : tokensLeft(this.call.body, sent);
  }

  /** What the relay needs to track the text and keep the answer's id (a chat stream), or splice it (Messages). */
  get relay(): Pick<StreamOptions, 'track' | 'continuing'> & { messages: MessagesStreamOptions } {
    return {
      track: this.track,
      continuing: this.continuing,
      messages: { track: this.messagesTrack, continuing: this.continuing?.messages === true },
    };
  }

  /**
   * Whether the attempt on `lease` may be cut for a crawling pace, with the tokens the request may still produce:
   * only where its continuation is exact — elsewhere the cut would end the stream broken.
   */
  private pace(served: ModelConfig): PaceCut | undefined {
    if (this.track === undefined || !continuesSomewhere(served, this.kindOf)) return undefined;
    return this.paceFor(this.track);
  }

  /**
   * What an attempt on `lease` sends: a Messages (Responses) request in its own API to an upstream that serves it (a
   * continuation of a chat answer never is), else the chat body — and whether a crawl may be cut. `messages` in the
   * launch says the attempt is passed through in the door's own protocol, whichever door.
   */
  launch(lease: Lease, served: ModelConfig): Launch {
    const native = this.call.native;
    const messages =
      native !== undefined &&
      this.continuing?.messages !== false &&
      servesNative(native.api, lease.upstream, this.kindOf(lease.upstream.name));
    if (!messages) return { lease, body: this.body(lease, served), pace: this.pace(served), messages };
    const sent = this.messagesTrack;
    const pace = this.continuesMessagesOn(served, lease) && sent !== undefined ? this.paceFor(sent) : undefined;
    if (this.continuing?.messages === true && sent !== undefined)
      return { lease, body: messagesContinuationBody(this.call, lease, sent), pace, messages };
    return { lease, body: messagesBody(this.call, lease), pace, messages };
  }

  private paceFor(sent: { events: number }): PaceCut {
    return { tokensLeft: tokensLeft(this.call.body, sent) };
  }

  private continuesMessagesOn(served: ModelConfig, lease: Lease): boolean {
    return continuesMessages(served.continuation, this.kindOf(lease.upstream.name));
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

  /**
   * Cut after its last allowed token (or, a Messages stream, after its `message_delta`): the answer is complete,
   * only its end was lost. `messages`: the cut attempt was a passed-through Messages stream.
   */
  cutAtLimit(ctx: RequestContext, result: AttemptResult, messages: boolean): boolean {
    if (!result.contentSent || ctx.res.writableEnded) return false;
    const sent = messages ? this.messagesTrack : this.track;
    if (sent === undefined || !sent.continuable) return false;
    return tokensLeft(this.call.body, sent) === 0 || (messages && (sent as MessagesText).finished);
  }

  /** Ends an answer cut at its limit as the upstream would have (finish_reason "length", stop_reason "max_tokens"). */
  endAtLimit(ctx: RequestContext, served: ModelConfig, messages: boolean): void {
    ctx.res.end(
      messages ? (this.messagesTrack as MessagesText).closing() : lengthFinish(this.track as StreamText, served.name),
    );
    this.count('completed');
  }

  /**
   * Whether what `lease` cut after content reached the client can be continued on `served`: a chat answer on any
   * route that continues it (continuation.ts), a passed-through Messages answer on a Messages route that allows it.
   */
  canContinue(result: AttemptResult, served: ModelConfig, lease: Lease, messages: boolean): boolean {
    const sent = messages ? this.messagesTrack : this.track;
    return (
      result.contentSent &&
      sent !== undefined &&
      sent.continuable &&
      sent.events > 0 &&
      (messages ? this.continuesMessagesOn(served, lease) : continuesSomewhere(served, this.kindOf))
    );
  }

  /** Starts continuing: the rest must come from the model that wrote the beginning, on a route that continues it. */
  start(served: ModelConfig, messages: boolean): ModelConfig {
    this.continuing = { id: this.track?.id, messages };
    this.count('started');
    return messages ? messagesContinuationRoutes(served, this.apis) : continuationRoutes(served, this.kindOf);
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
