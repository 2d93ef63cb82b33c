import type { TestContext } from 'node:test';
import type { AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A redis-server child owned by one test (or one test file), on a loopback port, with no persistence. */
export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const MISSING = 'redis-server is not installed (apt-get install redis-server)';

let installed: boolean | undefined;
function isInstalled(): boolean {
  installed ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;
  return installed;
}

/**
 * Why a Redis test should be skipped, for `test(name, { skip: redisSkipReason() }, …)`: the message when
 * redis-server is missing on a developer machine; undefined when it is installed, and also in CI
 * (CI=true), where a missing redis-server must fail the test rather than hide it.
 */
export function redisSkipReason(): string | undefined {
  return isInstalled() || process.env.CI === 'true' ? undefined : MISSING;
}

/** Starts redis-server and stops it when the test ends. Throws (the test fails) when it is not installed. */
export async function startRedisServer(t: TestContext, opts: { port?: number } = {}): Promise<RedisServer> {
  const server = await launchRedisServer(opts.port);
  t.after(() => server.stop());
  return server;
}

/** startRedisServer without a test context, for before() hooks; the caller stops it. */
export async function launchRedisServer(port?: number): Promise<RedisServer> {
  if (!isInstalled()) throw new Error(MISSING);
  const p = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A crashed test run must not leave redis-server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  // Bounded polling: redis-server has no readiness signal other than answering.
  for (let waited = 0; !(await answersPing(p)); waited += 20) {
    if (child.exitCode !== null || waited >= 5000) {
      await stop();
      throw new Error(`redis-server on port ${p} did not answer PING:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${p}`, port: p, stop };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** One PING over a raw socket (no client library, so the helper tests nothing but the server). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d: Buffer) => {
      reply += d.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}
