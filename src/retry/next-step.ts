import type { Outcome } from '../upstream/outcome.ts';
import { isPushback } from './pushback.ts';
import { decideRetry, type RetryVerdict } from './retry-decision.ts';

/**
 * What the attempt loop does after one try:
 * - `answered` / `cancelled`: the answer is complete, or the client left;
 * - `pushback`: the upstream said "busy" before any output: back to the queue in its place (pushback.ts);
 * - `end_at_limit`: a stream cut after its last allowed token: complete, only its finish event is missing;
 * - `stop`: the client hears the last failure (`continuable`: the cut could have been continued);
 * - `retry`: after `delayMs`, elsewhere — or, with `continue`, a continuation of the answer already begun.
 */
export type Step =
  | { kind: 'answered' }
  | { kind: 'cancelled' }
  | { kind: 'pushback' }
  | { kind: 'end_at_limit' }
  | { kind: 'stop'; why: Extract<RetryVerdict, { retry: false }>['why']; continuable: boolean }
  | { kind: 'retry'; delayMs: number; continue: boolean };

export interface StepInput {
  outcome: Outcome;
  /** Content of this try reached the client. */
  contentSent: boolean;
  /** Pushbacks this request absorbed so far, and the most it may. */
  pushbacks: number;
  maxPushbacks: number;
  /** The stream was cut after its last allowed token (continuation.ts `tokensLeft` is 0). */
  cutAtLimit: boolean;
  /** The stream was cut after content reached the client, and a continuation can complete it. */
  canContinue: boolean;
  attempt: number;
  maxAttempts: number;
  now: number;
  deadlineAt: number;
  /** The shortest time an attempt could take; a retry that cannot finish in time is not made. */
  minAttemptMs: number;
  /** The wait before a retry (backoff, Retry-After): drawn only when a retry is weighed. */
  delayMs: () => number;
  /** Takes a retry from the budgets; called last, so only a retry that will happen spends one. */
  takeBudget: () => boolean;
}

/**
 * The decision after one try (pure, given its inputs), in the order that keeps answers fast: done; busy is
 * pushback, not failure, while the request's allowance lasts; a cut at the token limit is complete; then the retry
 * decision (retry-decision.ts), where a cut that can be continued counts as a failure before the first byte of
 * what is left.
 */
export function nextStep(i: StepInput): Step {
  const o = i.outcome;
  if (o.kind === 'ok') return { kind: 'answered' };
  if (o.kind === 'cancelled') return { kind: 'cancelled' };
  if (isPushback(o) && !i.contentSent && i.pushbacks < i.maxPushbacks) return { kind: 'pushback' };
  if (i.cutAtLimit) return { kind: 'end_at_limit' };
  const verdict = decideRetry({
    outcome: i.canContinue ? asRetryable(o) : o,
    committed: i.contentSent && !i.canContinue,
    attempt: i.attempt,
    maxAttempts: i.maxAttempts,
    delayMs: i.delayMs(),
    now: i.now,
    deadlineAt: i.deadlineAt,
    minAttemptMs: i.minAttemptMs,
    takeBudget: i.takeBudget,
  });
  return verdict.retry
    ? { kind: 'retry', delayMs: verdict.delayMs, continue: i.canContinue }
    : { kind: 'stop', why: verdict.why, continuable: i.canContinue };
}

/** A cut that can be continued is, for the retry decision, a failure before the first byte of what is left. */
function asRetryable(o: Outcome): Outcome {
  if (o.kind === 'reset') return { ...o, afterFirstByte: false };
  if (o.kind === 'timeout')
    return { ...o, afterFirstByte: false, phase: o.phase === 'idle' || o.phase === 'pace' ? 'first_token' : o.phase };
  return o;
}
