import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/spillway.js', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** The lines that matched, in order. */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Runs `spillway ARGS` in its own process (the storm keeps the fleet, the gateway and the load generator apart so
 * one cannot slow another's event loop) and resolves once `count` lines of its output match `pattern`.
 */
export async function spawnSpillway(
  args: string[],
  pattern: RegExp,
  count: number,
  opts: { stream: 'stdout' | 'stderr'; timeoutMs?: number },
): Promise<Child> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', opts.stream === 'stdout' ? 'pipe' : 'ignore', opts.stream === 'stderr' ? 'pipe' : 'ignore'],
  });
  const lines: string[] = [];
  let output = '';
  const out = opts.stream === 'stdout' ? child.stdout : child.stderr;
  out?.setEncoding('utf8');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`spillway ${args.join(' ')} did not start in time:\n${output}`)),
      opts.timeoutMs ?? 20_000,
    );
    out?.on('data', (c: string) => {
      output += c;
      for (const l of c.split('\n')) if (pattern.test(l)) lines.push(l);
      if (lines.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`spillway ${args.join(' ')} exited with ${String(code)}:\n${output}`));
    });
  });
  // Keep draining the pipe so a chatty child never blocks on a full buffer.
  out?.resume();
  return { process: child, lines, stop };
}
