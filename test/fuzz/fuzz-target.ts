import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/server.ts';

const BIN = new URL('../../bin/spillway.js', import.meta.url).pathname;

/** A real `spillway start` process on the mock, with jobs, the cache and the open admin API on. */
export interface FuzzTarget {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  mock: MockServer;
  configFile: string;
  /** Log lines the gateway wrote at `error` level (an internal error is a bug the fuzz found). */
  errorLines: string[];
  /** The gateway's resident set size now (bytes), from /proc. */
  rssBytes(): number;
  /** Open file descriptors of the gateway process now, from /proc. */
  openFds(): number;
  alive(): boolean;
  close(): Promise<void>;
}

export interface TargetOptions {
  mock?: MockOptions;
  /** Merged over the fuzz config's top-level sections. */
  config?: Record<string, unknown>;
  /** Node flags for the gateway process (e.g. a small --max-old-space-size: a leak then ends the process). */
  nodeFlags?: string[];
}

export async function startFuzzTarget(opts: TargetOptions = {}): Promise<FuzzTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
  const mock = await startMock({ slots: 512, ...opts.mock });
  const config = {
    // Short body allowances: inputs that promise more body than they send are cut in seconds, not minutes.
    server: { host: '127.0.0.1', port: 0, body_timeout: '2s', upload_timeout: '4s', default_deadline: '5s', body_limit_bytes: 1024 * 1024 },
    log: { level: 'warn', requests: false },
    upstreams: [{ name: 'mock0', url: `${mock.url}/v1`, max_concurrency: 128 }],
    models: { chat: { routes: [{ upstream: 'mock0', model: 'chat' }] }, embed: { routes: [{ upstream: 'mock0', model: 'embed' }] } },
    cache: { models: ['chat'] },
    jobs: { enabled: true, data_dir: join(dir, 'jobs'), poll_interval: '200ms', max_file_bytes: 512 * 1024 },
    ...opts.config,
  };
  const configFile = join(dir, 'spillway.yaml');
  writeFileSync(configFile, stringify(config));
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), BIN, 'start', '--config', configFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  });
  const pid = child.pid as number;
  return {
    url, port: Number(new URL(url).port), pid, child, mock, configFile, errorLines,
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
