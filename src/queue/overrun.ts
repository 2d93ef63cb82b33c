import { percentile } from '../percentile.ts';

/** Answers remembered at most (a busy fleet's last seconds). */
const SAMPLES = 2048;
/** The room is read from the answers of the last this many ms: a start-up's queue or an outage now over leaves it. */
const WINDOW_MS = 10_000;
/** The room read from them: what all but one request in 100 needed. */
const PERCENTILE = 99;
/** New samples, or ms, before the percentile is read again (sorting on every admission is not free). */
const REFRESH_EVERY = 16;
const REFRESH_MS = 1_000;

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
 *
 * Hand-written: a ring buffer and a percentile.
 */
export class Overrun {
  private readonly over = new Float64Array(SAMPLES);
  private readonly at = new Float64Array(SAMPLES);
  private count = 0;
  private sinceRead = Infinity;
  private readAt = -Infinity;
  private room = 0;

  /** A request answered at `now`, having held slots `heldMs` in all where `expectedMs` was expected of it. */
  add(heldMs: number, expectedMs: number, now: number): void {
    const over = heldMs - expectedMs;
    if (!Number.isFinite(over)) return;
    const i = this.count % SAMPLES;
    this.over[i] = Math.max(0, over);
    this.at[i] = now;
    this.count++;
    this.sinceRead++;
  }

  /** The room a request needs beyond its expected service time (ms; 0 with no answer in the window). */
  roomMs(now: number): number {
    if (this.sinceRead < REFRESH_EVERY && now - this.readAt < REFRESH_MS) return this.room;
    const recent: number[] = [];
    for (let i = 0; i < Math.min(this.count, SAMPLES); i++)
      if (now - (this.at[i] as number) <= WINDOW_MS) recent.push(this.over[i] as number);
    this.room = percentile(
      recent.sort((a, b) => a - b),
      PERCENTILE,
    );
    if (Number.isNaN(this.room)) this.room = 0;
    this.sinceRead = 0;
    this.readAt = now;
    return this.room;
  }
}
