import { RecentSamples } from '../upstream/recent-samples.ts';
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
/** Weight of the past in the mean generation time (first token to end). */
const GENERATION_EWMA = 0.9;

export class SilentQueue {
  private readonly firstTokens = new RecentSamples(PREFILL_SAMPLES);
  private generationMs: number | undefined;
  private readonly evidence = new WaitEvidence();

  /**
   * A stream on this upstream ended well. Returns how many of ours the engine runs when its queue is clear from the
   * last nine streams (then they are forgotten: the next estimate needs new evidence), else undefined.
   */
  observe(s: StreamStart): number | undefined {
    const generation = Math.max(0, s.heldMs - s.firstTokenMs);
    this.generationMs =
      this.generationMs === undefined
        ? generation
        : GENERATION_EWMA * this.generationMs + (1 - GENERATION_EWMA) * generation;
    const prefill = this.prefillMs;
    if (prefill === undefined || s.firstTokenMs < WAITED_FACTOR * prefill) this.firstTokens.add(s.firstTokenMs);
    if (prefill === undefined) return undefined;
    const waitMs = Math.max(0, s.firstTokenMs - prefill);
    const runMs = this.generationMs + prefill;
    return this.evidence.add(s.sentWith, runMs, waitMs, prefill);
  }

  /** The engine's prefill as its first tokens show it (ms), once one came. */
  get prefillMs(): number | undefined {
    return this.firstTokens.percentile(PREFILL_PERCENTILE, 1);
  }
}
