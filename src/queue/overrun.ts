import { RecentSamples } from '../upstream/recent-samples.ts';

/** Answers remembered at most (a busy fleet's last seconds). */
const SAMPLES = 2048;
/** The room is read from the answers of the last this many ms: a start-up's queue or an outage now over leaves it. */
const WINDOW_MS = 10_000;
/** The room read from them: what all but one request in 100 needed. */
const PERCENTILE = 99;

/**
 * How much longer than expected a request holds the fleet from its first slot to its answer: the time its attempts
 * held slots (a failed one, caught and tried again; a stream reset and continued; an answer longer than its length
 * limit predicted) less the service time the door expected of it. Its high percentile is the room a request needs
 * at its start to still finish when something goes wrong with it — the room high keeps (admission-queue.ts): in a
 * saturated queue every request starts at the edge of its deadline, and one that starts there has no time for a
 * retry.
 *
 * Measured, not configured: a clean fleet whose answers take what they are expected to shows none, and high then
 * keeps no room and costs the lower classes nothing; a fleet whose attempts fail, or whose answers spread wider than
 * their limits say, shows what it needs. Read over the last seconds only: the answers that queued in engines while a
 * limit was still being learned say nothing of the fleet a minute later. Pure: time is passed in.
 */
export class Overrun {
  private readonly over = new RecentSamples(SAMPLES);

  /** A request answered at `now`, having held slots `heldMs` in all where `expectedMs` was expected of it. */
  add(heldMs: number, expectedMs: number, now: number): void {
    const over = heldMs - expectedMs;
    if (Number.isFinite(over)) this.over.add(Math.max(0, over), now);
  }

  /** The room a request needs beyond its expected service time (ms; 0 with no answer in the window). */
  roomMs(now: number): number {
    this.over.forgetBefore(now - WINDOW_MS);
    return this.over.percentile(PERCENTILE, 1) ?? 0;
  }
}
