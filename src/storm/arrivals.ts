import { seededRandom } from './random.ts';
import type { RequestPriority } from '../priority.ts';

/**
 * The open-loop load of a storm, planned in advance: arrival times follow a non-homogeneous Poisson process whose
 * rate is a piecewise-linear curve, and each arrival carries its request's attributes. Planning everything from a
 * seed before the run means direct and Spillway receive exactly the same requests at the same offsets, and an
 * arrival never waits for an earlier answer (open loop: a slow target cannot slow the load down).
 */
export interface Mix {
  /** Probability that a request streams. */
  stream: number;
  /** Inclusive range of max_tokens, drawn uniformly. */
  maxTokens: [number, number];
  priorities: Partial<Record<RequestPriority, number>>;
  /** The client's deadline, sent as x-stainless-timeout (seconds) as the official SDKs do. */
  deadlineS: number;
  /** Models to ask for, with weights (default: one model "chat"). */
  models?: Record<string, number>;
  /**
   * Inclusive range of the prompt's length in tokens (4 characters each), drawn uniformly: a RAG context beside chat
   * turns. Absent: a short prompt of a few tokens.
   */
  promptTokens?: [number, number];
}

export interface Arrival {
  index: number;
  atMs: number;
  stream: boolean;
  maxTokens: number;
  priority: RequestPriority;
  model: string;
  prompt: string;
  /** The prompt's length in tokens, when the mix sets one. */
  promptTokens?: number;
  /** A uniform draw for the direct client's choice of upstream, fixed here so it is the same in every run. */
  pick: number;
}

/** Rate curve points: [seconds from start, requests per second]; linear between points, flat after the last. */
export type RateCurve = readonly (readonly [number, number])[];

export function rateAt(curve: RateCurve, tS: number): number {
  if (curve.length === 0) return 0;
  const first = curve[0] as readonly [number, number];
  if (tS <= first[0]) return first[1];
  for (let i = 1; i < curve.length; i++) {
    const [t1, r1] = curve[i] as readonly [number, number];
    const [t0, r0] = curve[i - 1] as readonly [number, number];
    if (tS <= t1) return t1 === t0 ? r1 : r0 + ((r1 - r0) * (tS - t0)) / (t1 - t0);
  }
  return (curve[curve.length - 1] as readonly [number, number])[1];
}

export function planArrivals(opts: {
  seed: number;
  curve: RateCurve;
  durationS: number;
  mix: Mix;
  maxRequests?: number;
}): Arrival[] {
  const random = seededRandom(opts.seed);
  const peak = Math.max(...opts.curve.map((p) => p[1]), 0);
  const out: Arrival[] = [];
  if (peak <= 0) return out;
  const cap = opts.maxRequests ?? 100_000;
  let t = 0;
  // Thinning (Lewis & Shedler): candidates at the peak rate, each kept with probability rate(t)/peak.
  for (;;) {
    t += -Math.log(1 - random()) / peak;
    if (t >= opts.durationS || out.length >= cap) break;
    if (random() * peak > rateAt(opts.curve, t)) continue;
    const index = out.length;
    out.push({
      index,
      atMs: t * 1000,
      stream: random() < opts.mix.stream,
      maxTokens: between(opts.mix.maxTokens, random()),
      priority: draw(opts.mix.priorities, random(), 'normal'),
      model: draw(opts.mix.models ?? { chat: 1 }, random(), 'chat'),
      prompt: `storm ${opts.seed} request ${index}`,
      pick: random(),
    });
    // Drawn last, and only when asked for: every other storm keeps the arrivals it always had.
    if (opts.mix.promptTokens !== undefined) withPromptOf(out[index] as Arrival, opts.mix.promptTokens, random());
  }
  return out;
}

/** Pads the arrival's prompt to a length drawn from `[lo, hi]` tokens (4 characters a token, as the simulator counts). */
function withPromptOf(a: Arrival, range: [number, number], u: number): void {
  const tokens = between(range, u);
  a.prompt = `${a.prompt} ${'context '.repeat(Math.ceil((tokens * 4) / 8))}`.slice(0, tokens * 4);
  a.promptTokens = tokens;
}

/** The whole number in `[lo, hi]` a uniform draw `u` in [0, 1) falls on. */
function between([lo, hi]: readonly [number, number], u: number): number {
  return lo + Math.floor(u * (hi - lo + 1));
}

function draw<K extends string>(weights: Partial<Record<K, number>>, u: number, fallback: K): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = u * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return entries.at(-1)?.[0] ?? fallback;
}
