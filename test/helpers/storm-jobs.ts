import type { Job } from '../../src/storm/best-possible.ts';
import type { DoorRule } from '../../src/storm/door-ceiling.ts';

/** A job of the replays (best-possible.ts, door-ceiling.ts): due `timeoutMs` after it arrives. */
export const job = (
  arrivalMs: number,
  serviceMs: number,
  timeoutMs: number,
  priority: Job['priority'] = 'normal',
): Job => ({
  arrivalMs,
  serviceMs,
  deadlineMs: arrivalMs + timeoutMs,
  priority,
});

/** A door with perfect knowledge, no margin and no class headroom. */
export const blind: DoorRule = { marginMs: 0, headroom: { high: 0, normal: 0, low: 0 }, knowsLengths: true };
