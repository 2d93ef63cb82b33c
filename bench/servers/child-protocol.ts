/**
 * The few lines every bench server shares with the orchestrator (bench/overhead.ts): announce the port on stdout,
 * answer `stats` over the IPC channel with memory and CPU time, exit cleanly on `exit` (so `--cpu-prof` gets to
 * write its profile) and die with the orchestrator if the channel goes away.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ChildStats {
  type: 'stats';
  /** Echo of the request's id. */
  id: number;
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size so far, bytes. */
  maxRss: number;
  /** CPU time used so far (user + system), microseconds. */
  cpuUs: number;
  /** Monotonic clock now, microseconds: the clock V8's `.cpuprofile` timestamps use. */
  monoUs: number;
  /** V8 heap in use now, bytes. */
  heapUsed: number;
  /** Event-loop delay since the last `lag-reset` (or start), ms: p99 and max (perf_hooks, 5 ms resolution). */
  lagP99Ms: number;
  lagMaxMs: number;
}

export type ParentMessage = { type: 'stats'; id: number } | { type: 'exit' } | { type: 'lag-reset' };

/** Event-loop delay, sampled every LAG_RESOLUTION_MS: what a timer scheduled now would wait beyond its time. */
const LAG_RESOLUTION_MS = 5;

export function serveChildProtocol(port: number, close: () => Promise<void>): void {
  const exit = (): void => {
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'exit') return exit();
    if (m.type === 'lag-reset') return lag.reset();
    const cpu = process.cpuUsage();
    const stats: ChildStats = {
      type: 'stats',
      id: m.id,
      rss: process.memoryUsage.rss(),
      maxRss: process.resourceUsage().maxRSS * 1024,
      cpuUs: cpu.user + cpu.system,
      monoUs: Number(process.hrtime.bigint() / 1000n),
      heapUsed: process.memoryUsage().heapUsed,
      // The histogram counts the resolution itself in every sample: what is beyond it is the lag.
      lagP99Ms: lag.count === 0 ? 0 : Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
      lagMaxMs: lag.count === 0 ? 0 : Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS),
    };
    process.send?.(stats);
  });
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  process.stdout.write(`READY ${port}\n`);
}

/** `--name value` from argv, or the fallback. */
export function argValue(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}
