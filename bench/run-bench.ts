import { pathToFileURL } from 'node:url';
import { usageError } from './args.ts';
import { killAll } from './children.ts';

/**
 * Runs a bench's `main` with the guards every multi-process bench needs: a watchdog that gives up after `limitS`,
 * SIGINT and exit handlers that kill the server children, and an exit code of 1 only when the bench itself failed.
 */
export async function runBench(name: string, limitS: number, main: () => Promise<void>): Promise<never> {
  const watchdog = setTimeout(() => {
    console.error(`${name}: still running after ${Math.round(limitS)} s, giving up`);
    killAll();
    process.exit(1);
  }, limitS * 1000);
  watchdog.unref();
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  process.once('exit', killAll);
  try {
    await main();
  } catch (err) {
    console.error(`${name} failed:`, err);
    process.exitCode = 1;
  } finally {
    killAll();
    clearTimeout(watchdog);
  }
  process.exit(process.exitCode ?? 0);
}

/** A numeric flag's value (`--name N`), the fallback when absent; anything but a positive number is an error. */
export function positive(name: string, v: string | undefined, fallback: number): number {
  const n = v === undefined ? fallback : Number(v);
  if (!(n > 0)) usageError(pathToFileURL(process.argv[1] ?? '').href, `--${name} must be a positive number, got ${v}`);
  return n;
}
