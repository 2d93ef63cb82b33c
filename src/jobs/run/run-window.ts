/**
 * Run windows: daily UTC time ranges ("16:30-00:30", e.g. a provider's off-peak price hours) in which job items may
 * start. A range whose end is before its start wraps past midnight. No windows means always. Pure.
 */
export interface RunWindow {
  /** Minutes after 00:00 UTC. */
  startMin: number;
  endMin: number;
}

export const RUN_WINDOW_PATTERN = '^([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-3]):[0-5]\\d$';

export function parseRunWindow(text: string): RunWindow {
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(text);
  if (m === null) throw new Error(`not a run window: ${text}`);
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  return { startMin: h1 * 60 + m1, endMin: h2 * 60 + m2 };
}

const DAY_MIN = 24 * 60;

/** True when `wallMs` (Unix ms) falls inside one of the windows, or there are none. */
export function inRunWindow(wallMs: number, windows: readonly RunWindow[]): boolean {
  if (windows.length === 0) return true;
  const min = Math.floor(wallMs / 60_000) % DAY_MIN;
  return windows.some(
    (w) =>
      w.startMin === w.endMin ||
      (w.startMin < w.endMin ? min >= w.startMin && min < w.endMin : min >= w.startMin || min < w.endMin),
  );
}

/** Milliseconds until the next window opens (0 when inside one): how long the runner may sleep. */
export function msUntilOpen(wallMs: number, windows: readonly RunWindow[]): number {
  if (inRunWindow(wallMs, windows)) return 0;
  const msOfDay = wallMs % (DAY_MIN * 60_000);
  let best = Infinity;
  for (const w of windows) {
    const startMs = w.startMin * 60_000;
    const wait = startMs > msOfDay ? startMs - msOfDay : startMs + DAY_MIN * 60_000 - msOfDay;
    best = Math.min(best, wait);
  }
  return best;
}
