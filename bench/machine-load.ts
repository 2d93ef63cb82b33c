/**
 * Whether something else is using the machine while the bench runs (a test suite, a build): the whole machine's
 * busy CPU time from /proc/stat, so the bench can wait for a quiet moment before measuring and report how much
 * CPU other processes took during each measurement. Returns nothing useful off Linux, and says so.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/stat (USER_HZ, 100 on every mainstream Linux). */
const USER_HZ = 100;

/** The machine's CPU time counters (/proc/stat's first line, clock ticks); null off Linux. */
function cpuTicks(): number[] | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    return ticks.length >= 8 && ticks.every(Number.isFinite) ? ticks : null;
  } catch {
    return null;
  }
}

/** CPU time the whole machine has spent busy (user + nice + system) since boot, microseconds; null off Linux. */
export function machineBusyUs(): number | null {
  const t = cpuTicks();
  if (t === null) return null;
  const [user = 0, nice = 0, system = 0] = t;
  return ((user + nice + system) * 1_000_000) / USER_HZ;
}

/**
 * Steal time: the share of the machine's CPU time its hypervisor gave to other guests. A storm's scores depend on
 * the gateway keeping pace with its clock; under 30–50% steal they fell 10–40 points (thirteenth session), so a
 * bench reports it beside its numbers. Call once at the start; the returned function gives the percent since then.
 */
export function stealMeter(): () => number | null {
  const start = cpuTicks();
  return () => {
    const end = cpuTicks();
    return start === null || end === null ? null : stealPercent(start, end);
  };
}

/**
 * The steal share (%) between two readings of /proc/stat's counters (user, nice, system, idle, iowait, irq, softirq,
 * steal, guest, guest_nice); null when no time passed. The guest counters are left out of the total: the kernel
 * already counts them in user and nice.
 */
export function stealPercent(start: readonly number[], end: readonly number[]): number | null {
  const STEAL = 7;
  let total = 0;
  for (let i = 0; i <= STEAL; i++) total += (end[i] ?? 0) - (start[i] ?? 0);
  const steal = (end[STEAL] ?? 0) - (start[STEAL] ?? 0);
  return total > 0 ? (100 * steal) / total : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the machine's busy CPU over a 250 ms probe is under `maxPercent` of one core (this process and its
 * idle children included), for at most `maxWaitMs`. Returns how long it waited beyond the first probe: 0 when the
 * machine was quiet at once or there is no budget left (then it does not probe at all).
 */
export async function waitForQuiet(maxPercent: number, maxWaitMs: number): Promise<number> {
  if (maxWaitMs <= 0) return 0;
  const PROBE_MS = 250;
  const start = performance.now();
  for (let probe = 0; ; probe++) {
    const b0 = machineBusyUs();
    const t0 = performance.now();
    await sleep(PROBE_MS);
    const b1 = machineBusyUs();
    if (b0 === null || b1 === null) return 0;
    const busyPercent = (100 * (b1 - b0)) / ((performance.now() - t0) * 1000);
    if (busyPercent < maxPercent) return probe === 0 ? 0 : performance.now() - start;
    if (performance.now() - start >= maxWaitMs) return performance.now() - start;
  }
}
