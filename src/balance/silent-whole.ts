import { planeMoments, planeSlopes } from '../least-squares.ts';
import { RECENT, WaitEvidence } from './wait-evidence.ts';
import { UNSEEN_FACTOR } from './silent-queue.ts';

/**
 * What a silent engine runs of ours, told by its whole (non-stream) answers (pure; the samples carry their own
 * times). A whole answer shows only its end: its time is its wait in the engine's queue and its run together, and
 * its run is its length's. So the run is read off a line — the engine's time for an answer of `tokens` tokens,
 * fitted (least squares) on recent answers that did not wait — and the wait is what an answer took beyond the line.
 * A workload that turns to longer answers moves along the line and shows no wait; a queue shows in every answer.
 * Then, as for streams (silent-queue.ts): a FIFO engine running S answers of `run` ms each starts one every run / S,
 * so an answer sent with `n` of ours in flight waited (n − S) × run / S, and S = n × run / (run + wait), `run` being
 * the line's time for the recent answers' mean length.
 *
 * Hand-written for the same reason as silent-queue.ts; the line is a least-squares fit over its last answers, made
 * again only when an answer comes onto it.
 */
export interface WholeAnswer {
  /** Our requests in flight on the upstream when this one was sent, itself included. */
  sentWith: number;
  /** How long it held its slot: its wait and its run (ms). */
  heldMs: number;
  /** Tokens it generated (its usage's completion_tokens). */
  tokens: number;
  /** Its prompt, in estimated tokens; unknown ones count as the line's mean. */
  promptTokens?: number | undefined;
}

/** Answers the line is fitted on: several seconds of them. */
const LINE_SAMPLES = 100;
/** Answers the line needs before it is believed. */
const LINE_MIN = 5;
/** An answer this many times the line's time or more waited: it is kept off the line. */
const WAITED_FACTOR = 1.2;

/**
 * The engine's time for an answer: `fixedMs + perTokenMs × tokens + perPromptTokenMs × (prompt − meanPrompt)`. The
 * prompt's part is its prefill, where prompts vary (0 where they are alike): a long prompt's answer takes longer
 * without waiting.
 */
interface Line {
  fixedMs: number;
  perTokenMs: number;
  perPromptTokenMs: number;
  meanPrompt: number;
  /** The longest prompt among the answers it was fitted on (tokens). */
  longestPrompt: number;
}

export class SilentWhole {
  private readonly line: { tokens: number; prompt: number; ms: number }[] = [];
  /** The line fitted on `line` as it is now (undefined: it changed since, or has too few answers). */
  private fitted: Line | undefined;
  private readonly evidence = new WaitEvidence();
  private readonly lengths: number[] = [];
  /** The last estimate made: what the engine runs of ours, as far as we know. */
  private lastEstimate: number | undefined;

  /** A whole answer on this upstream ended well. Returns what the engine runs of ours when a queue is clear. */
  observe(a: WholeAnswer): number | undefined {
    const line = (this.fitted ??= this.fit());
    const prompt = a.promptTokens ?? line?.meanPrompt ?? 0;
    let expected = this.expectMs(a.tokens, prompt);
    // A prompt over twice as long as any on the line: the line says nothing of it yet (silent-queue.ts).
    const unseen = line !== undefined && prompt > UNSEEN_FACTOR * line.longestPrompt;
    if (unseen || this.didNotWait(a, expected)) {
      this.addToLine(a.tokens, prompt, a.heldMs);
      if (unseen) expected = this.expectMs(a.tokens, prompt);
    }
    if (expected === undefined) return undefined;
    this.lengths.push(a.tokens);
    if (this.lengths.length > RECENT) this.lengths.shift();
    // The run of the answers ahead: the line's time for the recent answers' mean length (and the mean prompt).
    const runMs = this.expectMs(this.lengths.reduce((t, x) => t + x, 0) / this.lengths.length) ?? expected;
    const waitMs = Math.max(0, a.heldMs - expected);
    const estimate = this.evidence.add(a.sentWith, runMs, waitMs, runMs);
    if (estimate !== undefined) this.lastEstimate = estimate;
    return estimate;
  }

  /**
   * Whether `a` goes on the line. Once the engine's size is estimated, only answers sent with fewer than that in
   * flight: a FIFO engine started them at once. Before, those under 1.2 times the line's time (a cold flood's first
   * answers to end are the ones started at once). Without the first rule the answers of a queue shorter than half a
   * run came onto the line, which rose with them and took in longer waits next: an engine of 4 read as 5–6.
   */
  private didNotWait(a: WholeAnswer, expected: number | undefined): boolean {
    if (this.lastEstimate !== undefined) return a.sentWith < this.lastEstimate;
    return expected === undefined || a.heldMs < WAITED_FACTOR * expected;
  }

  /** The line's time for an answer of `tokens` tokens to a prompt of `prompt` (ms; the mean prompt's by default). */
  expectMs(tokens: number, prompt?: number): number | undefined {
    const f = (this.fitted ??= this.fit());
    if (f === undefined) return undefined;
    const promptMs = prompt === undefined ? 0 : f.perPromptTokenMs * (prompt - f.meanPrompt);
    return Math.max(1, f.fixedMs + f.perTokenMs * tokens + promptMs);
  }

  private fit(): Line | undefined {
    if (this.line.length < LINE_MIN) return undefined;
    const m = planeMoments(
      this.line,
      (p) => p.tokens,
      (p) => p.prompt,
      (p) => p.ms,
    );
    const [perToken, perPromptTokenMs] = planeSlopes(m);
    const prompts = { perPromptTokenMs, meanPrompt: m.m2, longestPrompt: Math.max(...this.line.map((p) => p.prompt)) };
    // Answers all of one length (or a line that falls): their mean time per token.
    if (perToken === 0) return { fixedMs: 0, perTokenMs: m.m1 > 0 ? m.my / m.m1 : 0, ...prompts };
    return { fixedMs: m.my - perToken * m.m1, perTokenMs: perToken, ...prompts };
  }

  private addToLine(tokens: number, prompt: number, ms: number): void {
    this.line.push({ tokens, prompt, ms });
    if (this.line.length > LINE_SAMPLES) this.line.shift();
    this.fitted = undefined;
  }
}
