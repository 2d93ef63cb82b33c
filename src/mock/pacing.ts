/**
 * When each piece of an answer is written. An answer is a list of frames (SSE events for a stream, slices of the
 * JSON body otherwise); token frames are the generated pieces. This turns frames plus pacing into a list of
 * (delay, data) steps — pure, so the timing rules are tested without a clock:
 *
 *   stream:      [ttft] role + token0  [token_ms] token1 … [token_ms] tokenN + finish + usage + [DONE]
 *   non-stream:  [ttft + (N-1)·token_ms] the whole body   (a real server answers only when generation ends)
 *
 * Keep-alive lines asked for before the first token are spread evenly over the TTFT wait, the way DeepSeek keeps
 * a connection open while busy. A cut (reset or stall after N tokens) drops every frame after the Nth token.
 */
export interface Frame {
  data: string;
  token: boolean;
}

export interface Timed {
  delayMs: number;
  data: string;
}

export interface Pacing {
  ttftMs: number;
  tokenMs: number;
  /** Non-stream: the body is produced all at once, after the whole generation time. */
  buffered: boolean;
  blankLines?: number;
  keepAliveLine?: string;
  /** Keep only the frames up to and including the Nth token frame (0: none). */
  cutAfterTokens?: number;
}

export function cutIndex(frames: readonly Frame[], afterTokens: number): number {
  if (afterTokens <= 0) return 0;
  let seen = 0;
  let last = 0;
  for (let i = 0; i < frames.length; i++) {
    if (frames[i]?.token !== true) continue;
    seen++;
    last = i + 1;
    if (seen === afterTokens) return last;
  }
  // Fewer tokens than asked: cut after the last one, still before the end of the answer.
  return last;
}

export function schedule(frames: readonly Frame[], p: Pacing): Timed[] {
  const end = p.cutAfterTokens === undefined ? frames.length : cutIndex(frames, p.cutAfterTokens);
  const body: Timed[] = [];
  let seenToken = false;
  for (let i = 0; i < end; i++) {
    const f = frames[i] as Frame;
    // The first frame waits for the first token; frames before the first token go out with it.
    const delayMs = i === 0 ? p.ttftMs : f.token && seenToken ? p.tokenMs : 0;
    if (f.token) seenToken = true;
    body.push({ delayMs, data: f.data });
  }
  if (p.buffered && body.length > 0) {
    let total = 0;
    for (const t of body) total += t.delayMs;
    body[0] = { delayMs: total, data: body.map((t) => t.data).join('') };
    body.length = 1;
  }
  const lines = p.blankLines ?? 0;
  if (lines === 0) return body;
  const gap = Math.floor(p.ttftMs / (lines + 1));
  const out: Timed[] = [];
  for (let i = 0; i < lines; i++) out.push({ delayMs: gap, data: p.keepAliveLine ?? '\n' });
  const first = body[0];
  if (first !== undefined) body[0] = { delayMs: Math.max(0, first.delayMs - gap * lines), data: first.data };
  return out.concat(body);
}

/**
 * Time to first token under load: prefill of a new request competes with every request already being decoded,
 * so real servers' TTFT grows roughly linearly with the batch. `others` is the number of requests holding a slot
 * when this one starts.
 */
export function loadedTtftMs(ttftMs: number, perInFlightMs: number, others: number): number {
  return ttftMs + perInFlightMs * Math.max(0, others);
}

/** The part of a first token's time a prompt of `promptTokens` adds: `per1kMs` for each thousand of its tokens. */
export function promptPrefillMs(per1kMs: number, promptTokens: number): number {
  return (per1kMs * Math.max(0, promptTokens)) / 1000;
}

/**
 * Spreads each delay uniformly within ±pct% (seeded `rng`), so latencies are not suspiciously identical. Zero
 * delays stay zero: they mean "in the same write", not "fast".
 */
export function jitterSteps(steps: readonly Timed[], pct: number, rng: () => number): Timed[] {
  if (pct <= 0) return steps as Timed[];
  return steps.map((s) =>
    s.delayMs === 0
      ? s
      : { delayMs: Math.max(0, Math.round(s.delayMs * (1 + (pct / 100) * (2 * rng() - 1)))), data: s.data },
  );
}
