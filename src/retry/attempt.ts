import type { Clock } from '../clock.ts';
import type { Lease } from '../balance/balancer.ts';
import type { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
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

/** Largest upstream error body read (bytes): enough for any error message, bounded against a hostile upstream. */
const MAX_ERROR_BODY = 64 * 1024;

export interface AttemptResult {
  outcome: Outcome;
  /** What the client would be told if this attempt is the last (undefined on success or when the client left). */
  error: SpillwayError | undefined;
  /** A data event reached the client: the answer is committed to this attempt's text. */
  contentSent: boolean;
  /** How long the upstream took to send its first real token, when it did. */
  firstTokenMs?: number;
}

export interface AttemptDeps {
  pools: UpstreamPools;
  clock: Clock;
  log: Logger;
}

/**
 * One attempt on a leased route: send, classify the head, relay the body. Never throws for upstream trouble; the
 * attempt loop reads the result and decides. The caller releases the lease.
 */
export async function runAttempt(ctx: RequestContext, lease: Lease, publicModel: string, deps: AttemptDeps): Promise<AttemptResult> {
  const call = ctx.call;
  if (call === undefined) throw new Error('an attempt needs a call');
  const { route, upstream } = lease;
  const body = route.model === call.model ? call.raw : JSON.stringify({ ...call.body, model: route.model });
  let att: OpenAttempt | undefined;
  const failed = (outcome: Outcome, contentSent = false): AttemptResult => ({ outcome, error: errorFromOutcome(outcome, upstream.name), contentSent });
  try {
    try {
      att = await openAttempt(deps.pools, deps.clock, {
        upstream, apiKey: lease.apiKey, path: UPSTREAM_PATH[call.endpoint], body, requestId: ctx.id, deadlineAt: ctx.deadlineAt, clientGone: ctx.clientGone,
      });
    } catch (err) {
      const e = err as AttemptError;
      return failed(classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone }));
    }
    const retryAfterMs = parseRetryAfter(att.headers['retry-after'], Date.now());
    const head = classifyStatus(att.status, retryAfterMs);
    if (head.kind !== 'ok') {
      const text = await readErrorBody(att);
      if (att.status === 401 || att.status === 403) {
        deps.log.error({ upstream: upstream.name, status: att.status }, 'upstream rejected the gateway credentials: check this upstream api_key in the config');
      }
      return { outcome: head, error: errorFromUpstreamStatus(att.status, text, retryAfterMs, upstream.name), contentSent: false };
    }
    const rewrite = modelRewriter(route.model, publicModel);
    if (call.stream) {
      const r = await relaySse(ctx, att, rewrite, deps.clock);
      return { outcome: r.outcome, error: r.outcome.kind === 'ok' ? undefined : errorFromOutcome(r.outcome, upstream.name), contentSent: r.contentSent, firstTokenMs: firstTokenMs(att) };
    }
    try {
      await relayJson(ctx, att, rewrite);
      return { outcome: { kind: 'ok' }, error: undefined, contentSent: true, firstTokenMs: firstTokenMs(att) };
    } catch (err) {
      const e = err instanceof AttemptError ? err : new AttemptError(err, att.timeoutPhase(), ctx.clientGone.aborted);
      return failed(classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone }));
    }
  } finally {
    att?.close();
    if (att !== undefined) ctx.upstreamMs += deps.clock.now() - att.startedAt;
  }
}

/** The attempt's time to first token, for the latency estimate of the balancer. */
export function firstTokenMs(att: OpenAttempt): number | undefined {
  return att.timer.firstTokenSeenAt === undefined ? undefined : att.timer.firstTokenSeenAt - att.startedAt;
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
