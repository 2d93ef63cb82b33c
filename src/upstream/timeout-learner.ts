import { ADAPTIVE, type Learned } from './adaptive-timeouts.ts';
import { RecentSamples } from './recent-samples.ts';

interface Series {
  firstToken: RecentSamples;
  gap: RecentSamples;
}

/**
 * What each (upstream, upstream model, stream or not) has shown: recent times to first token and, per finished
 * attempt, the longest silence between its chunks. Streams and non-stream answers are apart because a non-stream
 * "first token" is the whole answer. Keys come from the config's routes only (never from a client), so the map is
 * bounded. Pure: callers pass what an attempt measured.
 */
export class TimeoutLearner {
  private readonly series = new Map<string, Series>();

  /** `firstTokenMs` when the attempt had a first token; `maxGapMs` only for an attempt that finished well. */
  observe(upstream: string, model: string, stream: boolean, m: { firstTokenMs?: number | undefined; maxGapMs?: number | undefined }): void {
    const s = this.of(upstream, model, stream);
    if (m.firstTokenMs !== undefined) s.firstToken.add(m.firstTokenMs);
    if (m.maxGapMs !== undefined) s.gap.add(m.maxGapMs);
  }

  /** Every series seen so far (for the timeout gauge). */
  *seen(): Iterable<{ upstream: string; model: string; stream: boolean }> {
    for (const k of this.series.keys()) {
      const [upstream = '', model = '', mode] = k.split('\u0000');
      yield { upstream, model, stream: mode === 's' };
    }
  }

  learned(upstream: string, model: string, stream: boolean): Learned {
    const s = this.series.get(key(upstream, model, stream));
    if (s === undefined) return { firstTokenMs: undefined, gapMs: undefined };
    return { firstTokenMs: s.firstToken.percentile(ADAPTIVE.percentile, ADAPTIVE.minSamples), gapMs: s.gap.percentile(ADAPTIVE.percentile, ADAPTIVE.minSamples) };
  }

  private of(upstream: string, model: string, stream: boolean): Series {
    const k = key(upstream, model, stream);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { firstToken: new RecentSamples(), gap: new RecentSamples() };
      this.series.set(k, s);
    }
    return s;
  }
}

function key(upstream: string, model: string, stream: boolean): string {
  return `${upstream}\u0000${model}\u0000${stream ? 's' : 'j'}`;
}
