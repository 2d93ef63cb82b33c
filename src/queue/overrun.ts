import { percentile } from '../percentile.ts';

/** Requests whose overrun is remembered: about a minute of a busy fleet's answers. */
const SAMPLES = 2048;
/** The room read from them: what all but one request in 500 needed (high is promised every request). */
const PERCENTILE = 99.8;
/** New samples before the percentile is read again (sorting 2 048 numbers on every admission is not free). */
const REFRESH_EVERY = 16;

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
 * their limits say, shows what it needs. Pure: callers pass the numbers; a ring of the newest samples.
 *
 * Hand-written: a ring buffer and a percentile.
 */
export class Overrun {
  private readonly ring = new Float64Array(SAMPLES);
  private count = 0;
  private sinceRead = 0;
  private room = 0;

  /** A request answered, having held slots `heldMs` in all where `expectedMs` was expected of it. */
  add(heldMs: number, expectedMs: number): void {
    const over = heldMs - expectedMs;
    if (!Number.isFinite(over)) return;
    this.ring[this.count % SAMPLES] = Math.max(0, over);
    this.count++;
    this.sinceRead++;
  }

  /** The room a request needs beyond its expected service time (ms; 0 before anything was measured). */
  roomMs(): number {
    if (this.sinceRead >= REFRESH_EVERY || (this.count > 0 && this.count < REFRESH_EVERY)) {
      const n = Math.min(this.count, SAMPLES);
      this.room = percentile(this.ring.slice(0, n).sort(), PERCENTILE);
      this.sinceRead = 0;
    }
    return this.room;
  }
}
