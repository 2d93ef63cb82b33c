/**
 * Starting, querying and stopping the bench's server processes, each pinned to a core with `taskset` where it
 * exists. Every child is registered at once so that an error, SIGINT or the watchdog can kill them all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChildStats, ParentMessage } from './servers/child-protocol.ts';

export interface Child {
  readonly name: string;
  readonly port: number;
  readonly origin: string;
  readonly pid: number;
  stats(): Promise<ChildStats>;
  /** Starts the child's event-loop delay histogram afresh (the next `stats()` reports lag since now). */
  resetLag(): void;
  /** Asks the child to exit (so a CPU profile gets written); kills it if it has not after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let nextId = 1;

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Pins this process (all its threads) to `core`; false if that was not possible. */
export function pinSelf(core: number): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

export async function startChild(
  name: string,
  script: string,
  args: string[],
  opts: { core: number | null; nodeFlags?: string[]; readyTimeoutMs?: number },
): Promise<Child> {
  const nodeArgs = [...(opts.nodeFlags ?? []), script, ...args];
  const [cmd, argv] =
    opts.core === null
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(opts.core), process.execPath, ...nodeArgs]];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));

  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new Error(`${name}: no READY line within ${opts.readyTimeoutMs ?? 15_000} ms`)),
      opts.readyTimeoutMs ?? 15_000,
    );
    const onExit = (code: number | null): void => fail(new Error(`${name} exited (${code}) before it was ready`));
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m !== null) {
        cleanup();
        resolve(Number(m[1]));
      }
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.off('exit', onExit);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', onExit);
  });
  proc.stdout?.resume();

  return {
    name,
    port,
    origin: `http://127.0.0.1:${port}`,
    pid: proc.pid as number,
    stats: () =>
      new Promise<ChildStats>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          proc.off('message', onMessage);
          reject(new Error(`${name}: no stats answer within 5 s`));
        }, 5000);
        const onMessage = (m: ChildStats): void => {
          if (m.type !== 'stats' || m.id !== id) return;
          clearTimeout(timer);
          proc.off('message', onMessage);
          resolve(m);
        };
        proc.on('message', onMessage);
        proc.send({ type: 'stats', id } satisfies ParentMessage);
      }),
    resetLag: () => {
      if (proc.connected) proc.send({ type: 'lag-reset' } satisfies ParentMessage);
    },
    stop: async (graceMs = 5000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      if (proc.connected) proc.send({ type: 'exit' } satisfies ParentMessage);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The three servers every gateway-versus-proxy bench compares: the simulated upstream (on the load side's core
 * `upstreamCore`), and in front of it the minimal pass-through and Spillway (`gatewayArgs` added), both on
 * `frontCore`.
 */
export async function startTrio(
  cores: { upstream: number | null; front: number | null },
  gatewayArgs: string[] = [],
): Promise<{ upstream: Child; passthrough: Child; gateway: Child }> {
  const servers = join(import.meta.dirname, 'servers');
  const upstream = await startChild('upstream', join(servers, 'upstream.ts'), [], { core: cores.upstream });
  const passthrough = await startChild(
    'pass-through',
    join(servers, 'passthrough.ts'),
    ['--upstream', upstream.origin],
    {
      core: cores.front,
    },
  );
  const gateway = await startChild(
    'spillway',
    join(servers, 'gateway.ts'),
    ['--upstream', `${upstream.origin}/v1`, ...gatewayArgs],
    { core: cores.front },
  );
  return { upstream, passthrough, gateway };
}
