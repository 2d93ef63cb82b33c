import type { TestContext } from 'node:test';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/server.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';

/** Log lines a gateway wrote, parsed, for tests that read the access log. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') this.lines.push(l);
      cb();
    },
  });
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface Stack {
  gw: Gateway;
  mocks: MockServer[];
  logs: LogCapture;
  /** The official OpenAI client pointed at the gateway, SDK retries off so each test sees one request. */
  client: OpenAI;
}

export interface StackOptions {
  mocks?: MockOptions[];
  /** Builds the raw config from the mocks' URLs; default: one model "chat" routed to every mock. */
  config?: (mockUrls: string[]) => Record<string, unknown>;
  apiKey?: string;
  /** Passed to startGateway (e.g. a FakeClock for cache entries). */
  gateway?: Omit<GatewayOptions, 'port' | 'log'>;
  /** How often the gateway samples its dashboard stats (ms). */
  statsIntervalMs?: number;
}

/**
 * The weight of a route a test needs tried first. The balancer draws its first candidate by weight, so against a
 * weight-1 route even 1000 left one run in a thousand starting on the other route (and 100, one in a hundred: a
 * failover test that failed once in a full run for that reason); at this weight the other route is never drawn
 * first in practice, and it still wins when the first is loaded or out of rotation, as any lighter route does.
 */
export const FIRST_CHOICE = 1e9;

/** Starts mocks and a gateway on port 0, registers their cleanup at once, and returns them. */
export async function startStack(t: TestContext, opts: StackOptions = {}): Promise<Stack> {
  const mocks: MockServer[] = [];
  t.after(() => Promise.all(mocks.map((m) => m.close())));
  for (const m of opts.mocks ?? [{}]) mocks.push(await startMock(m));
  const urls = mocks.map((m) => m.url);
  const raw = opts.config?.(urls) ?? {
    upstreams: urls.map((u, i) => ({ name: `mock${i}`, url: `${u}/v1` })),
    models: { chat: { routes: urls.map((_u, i) => ({ upstream: `mock${i}`, model: 'chat' })) } },
  };
  // What the gateway keeps on disk (stored responses, jobs) goes to a directory of this stack's own, never the repo.
  const jobs = (raw.jobs ?? {}) as Record<string, unknown>;
  if (jobs.data_dir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-stack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    raw.jobs = { ...jobs, data_dir: dir };
  }
  const config = resolveConfig(raw, 'test config', {});
  const logs = new LogCapture();
  const gw = await startGateway(config, {
    ...opts.gateway,
    port: 0,
    log: createLogger('info', logs.stream),
    ...(opts.statsIntervalMs === undefined ? {} : { statsIntervalMs: opts.statsIntervalMs }),
  });
  t.after(() => gw.shutdown(0));
  const client = new OpenAI({
    baseURL: `${gw.url}/v1`,
    apiKey: opts.apiKey ?? 'unused',
    maxRetries: 0,
    timeout: 30_000,
  });
  return { gw, mocks, logs, client };
}

/** Waits for the first `name` event of an emitter (tests wait on events, never on sleeps). */
export function nextEvent(emitter: NodeJS.EventEmitter, name: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args)));
}

/**
 * A tiny upstream that answers every request with `handler` (for failures the simulator should not have to fake).
 * Unless `metrics` says it serves them, GET /metrics is not one of them: 404, not counted in `hits`, like an engine
 * started without metrics, so that a `vllm` or `sglang` kind read by `engine_metrics: auto` stays what the test wrote.
 */
export async function fixedUpstream(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
  { metrics = false } = {},
): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (!metrics && req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(404).end();
      return;
    }
    hits++;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits };
}
