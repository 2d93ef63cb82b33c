import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/server.ts';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;

/** A real `spillway start` process in front of an in-process mock, for the fuzz and soak runs. */
export interface GatewayProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  mock: MockServer;
  configFile: string;
  /** A temporary directory of its own (config file, jobs data), removed by close(). */
  dir: string;
  /** Log lines the gateway wrote at `error` level (an internal error is a bug the fuzz found). */
  errorLines: string[];
  /** The gateway's resident set size now (bytes), from /proc. */
  rssBytes(): number;
  /** Open file descriptors of the gateway process now, from /proc. */
  openFds(): number;
  alive(): boolean;
  close(): Promise<void>;
}

export interface GatewayProcessOptions {
  mock?: MockOptions;
  /** The config, from the mock's URL and the process's own directory. */
  config: (mockUrl: string, dir: string) => Record<string, unknown>;
  /** Node flags for the gateway process (e.g. a small --max-old-space-size: a leak then ends the process). */
  nodeFlags?: string[];
}

export async function startGatewayProcess(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-proc-'));
  const mock = await startMock({ slots: 512, ...opts.mock });
  const config = opts.config(mock.url, dir);
  const configFile = join(dir, 'spillway.yaml');
  writeFileSync(configFile, stringify(config));
  const child = spawn(
    process.execPath,
    [...(opts.nodeFlags ?? []), BIN, 'start', '--config', configFile, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Never outlive the process that started it (a bench's watchdog or Ctrl-C exits without a close()).
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const errorLines: string[] = [];
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const l of lines) if (l.includes('"level":50') || l.includes('"level":60')) errorLines.push(l);
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1] !== undefined) {
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited ${String(code)} before listening: ${err}`)));
  }).catch(async (e: unknown) => {
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const pid = child.pid as number;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    child,
    mock,
    configFile,
    dir,
    errorLines,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    openFds: () => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return -1;
      }
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      await mock.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
