import { RecentSamples } from '../upstream/recent-samples.ts';
import { lineSlope } from '../least-squares.ts';
import { WaitEvidence } from './wait-evidence.ts';

/**
 * What a self-hosted engine whose /metrics cannot be read runs of ours, told by its streams' first tokens (pure; the
 * samples carry their own times). vLLM, SGLang and Ollama queue what they cannot run without a word, first come
 * first served; with no max_concurrency the learned limit starts far above what they run, and the work sent beyond
 * it waits inside the engine, where the door cannot see it and the client's deadline runs out. Its metrics say how
 * many wait (engine-load.ts); without them, the wait shows in the first tokens:
 *
 * - a stream's wait in the engine's queue is its time to first token less the engine's prefill, the first token an
 *   answer gets when it is not queued: a low percentile of recent first tokens that did not wait;
 * - an engine that runs S requests, each holding its slot `run` ms (prefill and generation), starts one every
 *   run / S ms; a request sent with n of ours in flight there (itself included) waits for the n − S ahead of it:
 *   wait = (n − S) × run / S, so S = n × run / (run + wait). In steady state with a limit L above S, every sample
 *   gives S exactly; the estimate's error is the prefill's (a few hundredths of a run per request in flight).
 *
 * A whole answer (non-stream) shows only its end, and its run is its length's: silent-whole.ts reads it against a
 * line fitted to answers' lengths (a run read as the median time of answers that did not wait took a turn to longer
 * answers for a queue, and read an Ollama of 4 slots as 5–7).
 *
 * Counted on several samples (the median of the last nine: wait-evidence.ts), and only when the wait is clear — at
 * least half a prefill and two requests — so that an engine whose first token merely slows with its batch is left
 * alone. The estimate then sets the limit, as an engine's reported queue does (aimd-limit.ts `estimated`).
 *
 * Hand-written: Little's law on a FIFO queue, a few lines; no library knows an LLM engine's first tokens.
 */
export interface StreamStart {
  /** Our requests in flight on the upstream when this one was sent, itself included. */
  sentWith: number;
  /** Its time to first token (ms). */
  firstTokenMs: number;
  /** How long it held its slot, first token to end included (ms). */
  heldMs: number;
  /** Its prompt, in estimated tokens; unknown ones count as the recent mean. */
  promptTokens?: number | undefined;
}

/** First tokens the prefill is read from: several seconds of answers, so it follows a change of prompts. */
const PREFILL_SAMPLES = 100;
/**
 * The prefill is this low percentile of first tokens that did not wait: a queue only ever adds to them, but the
 * prefill itself grows a little with the batch, and one read too short counts as a wait (an estimate too low).
 */
const PREFILL_PERCENTILE = 25;
/**
 * A first token this many prefills long or more waited: it is kept out of the prefill's samples. Those under it that
 * waited a little come in too, and the prefill read follows the batch's growth with them (the simulated engines
 * prefill 5 ms slower per request they hold). Tried and dropped: once an estimate was made, taking only the streams
 * sent with fewer than it in flight; the prefill then read short of the full batch's, the waits long and the
 * estimates under what the engines ran (73.8–74.6% in three runs of the storm with the metrics off, against
 * 75.1–75.6%).
 */
const WAITED_FACTOR = 2;
/**
 * A prompt this many times longer than any the line was fitted on is beyond what the line knows: taken onto it as it
 * comes (here, and for whole answers in silent-whole.ts).
 */
export const UNSEEN_FACTOR = 2;
/** Weight of the past in the mean generation time (first token to end) and the mean prompt. */
const EWMA = 0.9;

/** The slope is fitted again after this many new calm first tokens: it moves slowly, and a fit costs a sort. */
const REFIT_EVERY = 10;

/**
 * The prefill is read as a function of the prompt: a base plus `perTokenMs` for each prompt token. A long prompt takes
 * longer to its first token (a RAG context of 8 000 tokens, several times a chat turn's), and read against one prefill
 * for all it would count as a wait: the engine would be read as smaller than it is, and its limit cut, for as long as
 * the workload sends long prompts. The slope is least squares over the first tokens that did not wait; the base, the
 * low percentile of what is left of them once the slope's part is taken off (with prompts all alike: the percentile of
 * the first tokens themselves, as before prompts were read).
 */
export class SilentQueue {
  /** First tokens that did not wait, with their prompts (oldest first). */
  private readonly calm: { promptTokens: number; ms: number }[] = [];
  /** Prefill per prompt token (ms), as last fitted. */
  private perTokenMs = 0;
  /** The calm first tokens less the slope's part, in the same ring: the base is their low percentile. */
  private base = new RecentSamples(PREFILL_SAMPLES);
  private sinceFit = 0;
  /** The longest prompt among the calm first tokens (tokens). */
  private longestCalm = 0;
  private generationMs: number | undefined;
  private promptMean: number | undefined;
  private readonly evidence = new WaitEvidence();

  /**
   * A stream on this upstream ended well. Returns how many of ours the engine runs when its queue is clear from the
   * last nine streams (then they are forgotten: the next estimate needs new evidence), else undefined.
   */
  observe(s: StreamStart): number | undefined {
    const generation = Math.max(0, s.heldMs - s.firstTokenMs);
    this.generationMs = ewma(this.generationMs, generation);
    const prompt = s.promptTokens ?? this.promptMean ?? 0;
    this.promptMean = ewma(this.promptMean, prompt);
    let own = this.prefillFor(prompt);
    // A prompt over twice as long as any the line was fitted on: the line says nothing of it yet, so its first token
    // is taken as it comes (as the very first one is) and the line fitted again at once. Without it, a workload of
    // short chat turns and long RAG prompts never had a long one under twice the short ones' prefill, and read them
    // all as waits.
    const unseen = own !== undefined && prompt > UNSEEN_FACTOR * this.longestCalm;
    if (own === undefined || unseen || s.firstTokenMs < WAITED_FACTOR * own) {
      this.addCalm(prompt, s.firstTokenMs, unseen);
      if (unseen) own = this.prefillFor(prompt);
    }
    if (own === undefined) return undefined;
    const waitMs = Math.max(0, s.firstTokenMs - own);
    // Those ahead of it hold their slots for the typical prompt's prefill and the mean generation.
    const typical = this.prefillMs ?? own;
    return this.evidence.add(s.sentWith, this.generationMs + typical, waitMs, typical);
  }

  /** The engine's prefill for the recent mean prompt, as its first tokens show it (ms), once one came. */
  get prefillMs(): number | undefined {
    return this.prefillFor(this.promptMean ?? 0);
  }

  /** The engine's prefill for a prompt of `promptTokens` (ms), once a first token came. */
  prefillFor(promptTokens: number): number | undefined {
    const base = this.base.percentile(PREFILL_PERCENTILE, 1);
    return base === undefined ? undefined : base + this.perTokenMs * promptTokens;
  }

  /** Adds a first token that did not wait; the line is fitted again on the first few, every REFIT_EVERY, or `now`. */
  private addCalm(promptTokens: number, ms: number, now: boolean): void {
    this.calm.push({ promptTokens, ms });
    if (this.calm.length > PREFILL_SAMPLES) this.calm.shift();
    this.longestCalm = Math.max(this.longestCalm, promptTokens);
    if (!now && ++this.sinceFit < REFIT_EVERY && this.calm.length > REFIT_EVERY)
      return this.base.add(ms - this.perTokenMs * promptTokens);
    this.sinceFit = 0;
    // Prompts alike (a spread under a token: rounding alone would make a slope of noise) or a falling line: 0.
    this.perTokenMs = lineSlope(
      this.calm,
      (c) => c.promptTokens,
      (c) => c.ms,
    );
    this.base = new RecentSamples(PREFILL_SAMPLES);
    this.longestCalm = 0;
    for (const c of this.calm) {
      this.base.add(c.ms - this.perTokenMs * c.promptTokens);
      this.longestCalm = Math.max(this.longestCalm, c.promptTokens);
    }
  }
}

function ewma(past: number | undefined, x: number): number {
  return past === undefined ? x : EWMA * past + (1 - EWMA) * x;
}
