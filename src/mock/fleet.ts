import { startMock, type MockOptions, type MockServer } from './server.ts';
import type { MockStats } from './stats.ts';

/**
 * Several simulated upstreams in one process, each on its own port: the shape of a real deployment (a busy
 * DeepSeek account, a flaky self-hosted server, a spare) for chaos drills, the demo and the storm bench.
 * `spillway mock --fleet fleet.yaml` builds the spec from YAML (fleet-file.ts).
 */
export interface FleetUpstreamSpec extends MockOptions {
  /** Unique in the fleet; also the `x-mock-name` header of its answers. */
  name: string;
}

export interface FleetSpec {
  upstreams: FleetUpstreamSpec[];
}

interface FleetUpstream {
  name: string;
  url: string;
  mock: MockServer;
}

export interface Fleet {
  upstreams: FleetUpstream[];
  /** Each upstream's stats, by name. */
  stats(): Record<string, MockStats>;
  close(): Promise<void>;
}

/** A fleet that could not start: one line naming the upstream and why (the CLI prints it, exit 1). */
export class FleetError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'FleetError';
  }
}

/**
 * Starts every upstream, in order. If one cannot start (bad options, port in use), the ones already started are
 * closed and the error names the upstream — a half-started fleet would make a drill lie.
 */
export async function startFleet(spec: FleetSpec): Promise<Fleet> {
  const seen = new Set<string>();
  for (const u of spec.upstreams) {
    if (seen.has(u.name)) throw new FleetError(`fleet upstream name "${u.name}" is used twice`);
    seen.add(u.name);
  }
  const started: FleetUpstream[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map((u) => u.mock.close()));
  };
  for (const u of spec.upstreams) {
    try {
      const mock = await startMock(u);
      started.push({ name: u.name, url: mock.url, mock });
    } catch (err) {
      await closeAll();
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? `port ${u.port ?? 0} is already in use` : e.message;
      throw new FleetError(`fleet upstream "${u.name}" did not start: ${why}`, err);
    }
  }
  let closing: Promise<void> | undefined;
  return {
    upstreams: started,
    stats: () => Object.fromEntries(started.map((u) => [u.name, u.mock.stats()])),
    close: () => (closing ??= closeAll()),
  };
}
