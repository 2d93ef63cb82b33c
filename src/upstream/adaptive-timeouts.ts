/**
 * First-token and idle timeouts that follow what each upstream and model show, instead of one fixed guess.
 *
 * A fixed first-token timeout is wrong both ways: 5 minutes lets a stalled upstream (or a provider holding us in its
 * own queue on keep-alive lines) eat a client's whole 30 s deadline; 3 seconds cuts a reasoning model that always
 * takes 20. So each (upstream, upstream model, stream or not) keeps its recent times to first token and, per
 * finished attempt, its longest silence between chunks; the timeout is a high percentile of those times a factor,
 * never under a floor (a fast upstream's 5 ms p99 × 3 would cut on a GC pause) nor over a ceiling. Before enough
 * samples a conservative cold value applies. Then the request's own deadline bounds it: when another attempt could
 * follow, a stall is cut once half of what was left has passed — but never before the upstream's own normal p99,
 * because a retry of an attempt that is merely slow would not fit either.
 *
 *   first token = pinned  ??  min( clamp(p99(ttft) × factor, floor, ceiling) or cold
 *                                    (a non-stream answer: by its length, wholeAnswerMs),
 *                                  max(remaining / 2, floor, p99(ttft)) if another attempt could follow )
 *   idle        = pinned  ??  clamp(p99(max gap) × factor, floor, ceiling) or cold,
 *                            and, if another attempt could follow, at most max(left / 2, floor, p99(max gap))
 *                            of what is left at the last chunk
 *
 * The first token also waits on the prompt's prefill, which grows with its length: times learned on short prompts
 * say nothing of a prompt ten times longer than any of them. So a prompt beyond the size the times were learned on
 * (the 90th percentile of those prompts, never under `promptReferenceTokens`) has every first-token value above (the
 * learned p99, the floor, the cold value, the length bound) scaled by how many times longer it is (`promptSizeFactor`).
 * Without it, a 25k-token prompt whose first token takes 5 s, on an upstream that answers short prompts in 150 ms,
 * was cut at the 3 s floor on every attempt and answered 504 after five prefills, where a direct call succeeded.
 *
 * A value pinned in the config (`timeouts.first_token`, `timeouts.idle`) is used as it is: the operator knows
 * better (the request deadline still ends every attempt). Pure: no clock, no I/O; tested as tables.
 */
export const ADAPTIVE = {
  percentile: 99,
  factor: 3,
  /** Samples before the learned value replaces the cold one. */
  minSamples: 20,
  firstTokenFloorMs: 3_000,
  firstTokenCeilingMs: 300_000,
  idleFloorMs: 5_000,
  /**
   * The idle floor where a cut costs little (`exactRecovery` on a stream; a non-stream body already begun, when a
   * retry may follow): the upstream's own gaps (p99 × factor) decide above it. A stream cut too early is continued
   * exactly (it costs a time to first token, not the answer); a non-stream body is written whole at the end of its
   * generation, so a silence inside it is no pause of the model. A real stall left to a 2 s floor held a slot for
   * 2 s and took the last retry of a request served near its deadline (`spillway demo`: ~1.2 s left at service).
   * The timer hears a silence only after yielding to I/O (attempt-timer.ts), so a busy event loop is not a stall.
   */
  recoverableIdleFloorMs: 500,
  /**
   * The floor that applies instead while no other attempt on the same upstream has sent a byte since this one went
   * silent: then the silence may be the upstream's as a whole (a starved process, the network) rather than one
   * stalled answer, and a cut would only start a continuation while the first one generates on.
   */
  quietUpstreamIdleFloorMs: 2_000,
  idleCeilingMs: 60_000,
  /** Cold first token of a stream: long enough for a slow model's first answer, short of a client's patience. */
  coldStreamFirstTokenMs: 60_000,
  /** A non-stream answer's first byte comes when the whole answer is written: as long as the old fixed default. */
  coldJsonFirstTokenMs: 300_000,
  coldIdleMs: 30_000,
  /**
   * Prompts up to this size (estimated tokens) are taken to fit the first-token times learned, whatever prompts
   * those were learned on: their prefill is well inside the 3 s floor on any server (a slow one prefills a thousand
   * tokens a second). A prompt above both this and the learned prompts' 90th percentile scales its first-token values.
   */
  promptReferenceTokens: 2_000,
  /**
   * An upstream that has sent nothing for this long may have gone cold: Ollama unloads a model after 5 minutes idle
   * (its `keep_alive`), serverless GPU endpoints scale to zero within a minute or less, and the next first token
   * then waits for the model to load, seconds to a minute. Its learned first-token times describe it warm, so its
   * next attempt is judged by the cold values (within the deadline split), not cut at a warm p99 × 3 and retried
   * into the same load.
   */
  staleAfterMs: 60_000,
} as const;

export type AdaptiveSettings = { readonly [K in keyof typeof ADAPTIVE]: number };

/** What an (upstream, model, stream or not) showed: its high percentiles, undefined until there are enough samples. */
export interface Learned {
  firstTokenMs: number | undefined;
  gapMs: number | undefined;
  /**
   * Non-stream only: the median time per completion token of its whole answers (their time over
   * `usage.completion_tokens`), so a request's whole answer has a length-aware bound. Undefined until learned.
   */
  msPerToken?: number | undefined;
  /** The 90th percentile of the prompts' sizes (estimated tokens) the first-token times were learned on. */
  promptTokens?: number | undefined;
  /** Non-stream only: the 90th percentile of the completion tokens of its whole answers, when reported. */
  answerTokens?: number | undefined;
}

export interface TimeoutsInput {
  /** Values set in the config; null: adaptive (`auto`). */
  pinned: { firstTokenMs: number | null; idleMs: number | null };
  learned: Learned;
  stream: boolean;
  /** Time left before the request's deadline as the attempt starts. */
  remainingMs: number;
  /** Another attempt could follow this one: leave it room. */
  retryMayFollow: boolean;
  /** The request's `max_tokens` (or `max_completion_tokens`), when it set one. */
  maxTokens?: number | undefined;
  /** The size of the request's prompt (estimated tokens: estimate-tokens.ts), when known. */
  promptTokens?: number | undefined;
  /** How long the upstream has sent no byte to any attempt (Infinity: never); beyond `staleAfterMs` it may be cold. */
  quietForMs?: number | undefined;
  /** The request offers tools (parse-call.ts `offersTools`): a stream may fall silent while a call is written whole. */
  offersTools?: boolean | undefined;
  /** The upstream's typical time between a stream's events (its tokens), when learned (timeout-learner.ts `pace`). */
  tokenGapMs?: number | undefined;
  /**
   * A stream cut now would be continued exactly on some route: the lower idle floor applies (to a non-stream body,
   * whenever a retry may follow).
   */
  exactRecovery?: boolean;
}

export interface ChosenTimeouts {
  firstTokenMs: number;
  idleMs: number;
  /** Set when a silence must also leave room for another attempt (see boundIdleMs). */
  idleSplitFloorMs: number | undefined;
  /** Set where the lower floor applies: the floor while the whole upstream is quiet (see attempt-timer.ts). */
  quietIdleFloorMs?: number | undefined;
  /**
   * The idle timeout is adaptive (not pinned): a silence the whole upstream shares while it prefills a request sent
   * as it fell quiet, or has shared and ended, is not this answer's stall (attempt-timer.ts).
   */
  excuseSharedSilence?: boolean;
  /**
   * Where the first-token timeout is adaptive: how long the attempt may wait for its first token while it waits its
   * turn in the upstream's own queue (attempt-timer.ts `waitsInQueue`): half of what is left where another attempt
   * could follow, else all of it; never less than the first-token timeout.
   */
  queueHoldMs?: number | undefined;
}

export function chooseTimeouts(input: TimeoutsInput, s: AdaptiveSettings = ADAPTIVE): ChosenTimeouts {
  const i = (input.quietForMs ?? 0) > s.staleAfterMs ? asCold(input) : input;
  const size = promptSizeFactor(i.promptTokens, i.learned.promptTokens, s);
  const ttft = i.learned.firstTokenMs === undefined ? undefined : i.learned.firstTokenMs * size;
  const firstTokenFloorMs = s.firstTokenFloorMs * size;
  const gap = i.learned.gapMs;
  let firstTokenMs = i.pinned.firstTokenMs;
  if (firstTokenMs === null) {
    const learnedMs =
      ttft === undefined
        ? Math.min((i.stream ? s.coldStreamFirstTokenMs : s.coldJsonFirstTokenMs) * size, s.firstTokenCeilingMs)
        : clamp(ttft * s.factor, firstTokenFloorMs, s.firstTokenCeilingMs);
    // A non-stream "first token" is the whole answer: how long it may take is its length's business, not the
    // recent answers' (whose p99 says nothing of one ten times longer).
    const whole = i.stream ? undefined : wholeAnswerMs(i, s, size);
    firstTokenMs = whole === undefined ? learnedMs : i.retryMayFollow ? whole : Math.max(learnedMs, whole);
    if (i.retryMayFollow)
      firstTokenMs = Math.min(firstTokenMs, Math.max(i.remainingMs / 2, firstTokenFloorMs, ttft ?? 0));
  }
  // A stream that may be writing a tool call whole: its silence may be the call, lost whole if cut.
  const toolSilence = i.stream && i.offersTools === true;
  const cheapCut = i.stream ? i.exactRecovery === true && !toolSilence : i.retryMayFollow;
  const idleFloorMs = cheapCut ? s.recoverableIdleFloorMs : s.idleFloorMs;
  let idleMs =
    i.pinned.idleMs ?? (gap === undefined ? s.coldIdleMs : clamp(gap * s.factor, idleFloorMs, s.idleCeilingMs));
  if (toolSilence && i.pinned.idleMs === null) idleMs = Math.max(idleMs, toolCallSilenceMs(i, s));
  const split = i.pinned.idleMs === null && i.retryMayFollow;
  return {
    firstTokenMs: Math.round(firstTokenMs),
    idleMs: Math.round(idleMs),
    idleSplitFloorMs: split ? Math.max(idleFloorMs, gap ?? 0) : undefined,
    quietIdleFloorMs: cheapCut && i.pinned.idleMs === null ? s.quietUpstreamIdleFloorMs : undefined,
    excuseSharedSilence: i.pinned.idleMs === null,
    queueHoldMs:
      i.pinned.firstTokenMs === null
        ? Math.round(Math.max(firstTokenMs, i.retryMayFollow ? i.remainingMs / 2 : i.remainingMs))
        : undefined,
  };
}

/**
 * The silence a stream that offers tools may keep: some engines hold a tool call until it closes and send it whole
 * (vLLM's GLM-4.5 parser; Kimi's held a 17.5k-character argument 32 s, an array argument 2.3 s even once fixed), so a
 * silence there can be as long as writing the rest of the answer: the typical time between tokens × `max_tokens` ×
 * the factor, between the usual 5 s floor and the 60 s ceiling; the cold 30 s when either is unknown. Learned gaps
 * say nothing of it where such calls are rarer than the percentile, and a cut loses the whole call, so the cheap-cut
 * floor never applies. The deadline split still leaves a retry room.
 */
function toolCallSilenceMs(i: TimeoutsInput, s: AdaptiveSettings): number {
  if (i.tokenGapMs === undefined || i.maxTokens === undefined) return s.coldIdleMs;
  return clamp(i.tokenGapMs * i.maxTokens * s.factor, s.idleFloorMs, s.idleCeilingMs);
}

/** An upstream quiet long enough to have gone cold: what it showed warm of its first tokens no longer holds. */
function asCold(i: TimeoutsInput): TimeoutsInput {
  return { ...i, learned: { ...i.learned, firstTokenMs: undefined, msPerToken: undefined } };
}

/**
 * How many times longer than the prompts its first-token times were learned on (their 90th percentile, or
 * `promptReferenceTokens` when that is larger) this prompt is; 1 when it is not longer, or its size is unknown.
 * Linear in the size, as prefill is (attention's quadratic part only makes a long prompt slower still, and the
 * learned times include the queue and the network, which do not grow with it): generous on purpose, as a prompt
 * cut for being long is cut again on every retry.
 */
export function promptSizeFactor(
  promptTokens: number | undefined,
  learnedPromptTokens: number | undefined,
  s: Pick<AdaptiveSettings, 'promptReferenceTokens'> = ADAPTIVE,
): number {
  if (promptTokens === undefined || !(promptTokens > 0)) return 1;
  return Math.max(1, promptTokens / Math.max(s.promptReferenceTokens, learnedPromptTokens ?? 0));
}

/**
 * How long a non-stream answer may take, all of it: the upstream's median time per token × the tokens the request
 * allows × the factor (× the prompt's size factor), never under the floor — when both are known. Its length decides
 * both ways: a high percentile of recent whole-answer times cuts an answer longer than they were (600 tokens on an
 * upstream whose answers had 10 were cut at 3 s on every attempt and answered 504, where a direct call took 6 s), and
 * cannot cut one that crawls when a tenth of them crawl (the percentile is theirs). A request without `max_tokens`
 * may be answered at any length, and an upstream that reports no `usage` tells no time per token: then nothing
 * short of the cold value (and the deadline split) bounds the answer, as a non-stream answer shows no progress that
 * would tell a long answer from a stalled one.
 */
function wholeAnswerMs(i: TimeoutsInput, s: AdaptiveSettings, size: number): number {
  const perToken = i.learned.msPerToken;
  if (perToken === undefined || i.maxTokens === undefined)
    return Math.min(s.coldJsonFirstTokenMs * size, s.firstTokenCeilingMs);
  return clamp(perToken * i.maxTokens * s.factor * size, s.firstTokenFloorMs * size, s.firstTokenCeilingMs);
}

/**
 * The silence allowed after a chunk when another attempt could follow: the idle timeout, but no more than half of
 * what is left before the deadline at that chunk (and never under `floorMs`), so a stall mid-answer still leaves a
 * retry or a continuation the other half.
 */
export function boundIdleMs(idleMs: number, floorMs: number, remainingMs: number): number {
  return Math.min(idleMs, Math.max(floorMs, remainingMs / 2));
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
