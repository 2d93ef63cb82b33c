import { ADAPTIVE, type Learned } from './adaptive-timeouts.ts';
import { RecentSamples } from './recent-samples.ts';
import { PACE } from './stream-pace.ts';

/**
 * The prompt size the learned first-token times are taken to hold for: most of the prompts they were learned on (a
 * few long ones among many short ones do not make every long prompt's timeout the short ones').
 */
const PROMPT_PERCENTILE = 90;

/** The answer length (completion tokens) the learned non-stream times are taken to hold for, as for prompts. */
const ANSWER_PERCENTILE = 90;

interface Series {
  firstToken: RecentSamples;
  /** The prompt sizes (estimated tokens) of the attempts in `firstToken`: what its times hold for. */
  promptTokens: RecentSamples;
  gap: RecentSamples;
  /** Per finished stream: its mean gap between data events, and how many it had (the pace cut's yardsticks). */
  meanGap: RecentSamples;
  events: RecentSamples;
  /** Per whole non-stream answer: its time over its completion tokens. */
  perToken: RecentSamples;
  /** Per whole non-stream answer: its completion tokens (how long answers here usually are). */
  answerTokens: RecentSamples;
}

/** What a finished stream showed of its pace. */
export interface PaceSample {
  meanGapMs: number;
  events: number;
}

/**
 * Requests whose output a grammar constrains (`response_format` JSON, vLLM's `guided_*`, SGLang's `regex`) are their
 * own series: an engine compiles the grammar before their first token (4–38 s measured in vLLM's issues, against
 * 0.2 s unconstrained) and masks every token after it (160 ms a token against 20 under load), so the times of plain
 * answers say nothing of them, nor theirs of plain ones.
 */
export type RequestShape = 'plain' | 'structured';

/**
 * What each (upstream, upstream model, stream or not, request shape) has shown: recent times to first token (with
 * their prompts' sizes) and, per finished attempt, the longest silence between its chunks. Streams and non-stream
 * answers are apart because a non-stream "first token" is the whole answer. Keys come from the config's routes and
 * the two shapes only (never from a client), so the map is bounded. Pure: callers pass what an attempt measured.
 */
export class TimeoutLearner {
  private readonly series = new Map<string, Series>();

  /** `firstTokenMs` when the attempt had a first token; `maxGapMs` only for an attempt that finished well. */
  observe(
    upstream: string,
    model: string,
    stream: boolean,
    m: {
      firstTokenMs?: number | undefined;
      maxGapMs?: number | undefined;
      pace?: PaceSample | undefined;
      msPerToken?: number | undefined;
      promptTokens?: number | undefined;
      answerTokens?: number | undefined;
    },
    shape: RequestShape = 'plain',
  ): void {
    const s = this.of(upstream, model, stream, shape);
    if (m.firstTokenMs !== undefined) {
      s.firstToken.add(m.firstTokenMs);
      // Unknown sizes count as small: the learned times then hold for no more than the reference size.
      s.promptTokens.add(m.promptTokens ?? 0);
    }
    if (m.maxGapMs !== undefined) s.gap.add(m.maxGapMs);
    if (m.msPerToken !== undefined) s.perToken.add(m.msPerToken);
    if (m.answerTokens !== undefined) s.answerTokens.add(m.answerTokens);
    if (m.pace !== undefined) {
      s.meanGap.add(m.pace.meanGapMs);
      s.events.add(m.pace.events);
    }
  }

  /**
   * A stream's typical gap between data events (the median: a tenth of crawling answers must not move it), its
   * usual length in events (the 90th percentile: an answer longer than most is not slow for that) and its typical
   * time to first token (the median); undefined until enough streams finished.
   */
  pace(
    upstream: string,
    model: string,
    shape: RequestShape = 'plain',
  ): { typicalGapMs: number; usualEvents: number; typicalFirstTokenMs: number | undefined } | undefined {
    const s = this.series.get(key(upstream, model, true, shape));
    const typicalGapMs = s?.meanGap.percentile(50, PACE.minSamples);
    const usualEvents = s?.events.percentile(90, PACE.minSamples);
    const typicalFirstTokenMs = s?.firstToken.percentile(50, ADAPTIVE.minSamples);
    return typicalGapMs === undefined || usualEvents === undefined
      ? undefined
      : { typicalGapMs, usualEvents, typicalFirstTokenMs };
  }

  /** Every series seen so far (for the timeout gauge). */
  *seen(): Iterable<{ upstream: string; model: string; stream: boolean; shape: RequestShape }> {
    for (const k of this.series.keys()) {
      const [upstream = '', model = '', mode, shape] = k.split('\u0000');
      yield { upstream, model, stream: mode === 's', shape: shape === 'structured' ? 'structured' : 'plain' };
    }
  }

  learned(upstream: string, model: string, stream: boolean, shape: RequestShape = 'plain'): Learned {
    const s = this.series.get(key(upstream, model, stream, shape));
    if (s === undefined) return { firstTokenMs: undefined, gapMs: undefined };
    const learned = {
      firstTokenMs: s.firstToken.percentile(ADAPTIVE.percentile, ADAPTIVE.minSamples),
      gapMs: s.gap.percentile(ADAPTIVE.percentile, ADAPTIVE.minSamples),
      promptTokens: s.promptTokens.percentile(PROMPT_PERCENTILE, ADAPTIVE.minSamples),
    };
    // The median: a tenth of crawling answers must not move it.
    if (stream) return learned;
    return {
      ...learned,
      msPerToken: s.perToken.percentile(50, ADAPTIVE.minSamples),
      answerTokens: s.answerTokens.percentile(ANSWER_PERCENTILE, ADAPTIVE.minSamples),
    };
  }

  private of(upstream: string, model: string, stream: boolean, shape: RequestShape): Series {
    const k = key(upstream, model, stream, shape);
    let s = this.series.get(k);
    if (s === undefined) {
      s = {
        firstToken: new RecentSamples(),
        promptTokens: new RecentSamples(),
        gap: new RecentSamples(),
        meanGap: new RecentSamples(),
        events: new RecentSamples(),
        perToken: new RecentSamples(),
        answerTokens: new RecentSamples(),
      };
      this.series.set(k, s);
    }
    return s;
  }
}

function key(upstream: string, model: string, stream: boolean, shape: RequestShape): string {
  return `${upstream}\u0000${model}\u0000${stream ? 's' : 'j'}\u0000${shape}`;
}
