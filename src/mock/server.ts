import { PromptCache } from './prompt-cache.ts';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockContext } from './context.ts';
import { resolveOptions, type MockOptions } from './options.ts';
import { runOutages } from './outage-glue.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';
import { createHandler } from './router.ts';
import { SlotPool } from './slots.ts';
import { StatsRecorder, type MockStats } from './stats.ts';

// Not `import`ed: an ES import of node:http loads Node's bundled undici (see server/http-server.ts).
const { createServer } = process.getBuiltinModule('node:http');

export type { MockOptions, FaultRates } from './options.ts';
export type { MockStats } from './stats.ts';
export { keyLabel } from './keys.ts';

/**
 * A running LLM simulator. `events` lets tests wait for what happened instead of sleeping; each event carries
 * `{ id, path, … }` (id numbers requests in arrival order):
 *   'request'   received, body parsed (also has method, headers, body)
 *   'queued'    waiting for a slot            'keepalive'  a keep-alive line went out while waiting
 *   'admitted'  got a slot, answering         'completed'  the answer was written to the end
 *   'rejected'  refused (has reason, status)  'fault'      an injected fault was applied (has kind)
 *   'aborted'   the client (or close()) went away before the answer was complete (has queued)
 *   'completed-after-client-gone'  continueAfterAbort: an answer nobody received was generated to its end
 *   'outage-start' / 'outage-end'  a scheduled outage is in force / over: { index, mode, startMs, endMs }
 */
export interface MockServer {
  /** e.g. http://127.0.0.1:PORT — an OpenAI SDK's base URL is url + '/v1'. */
  url: string;
  port: number;
  stats(): MockStats;
  resetStats(): void;
  /** Stops listening and closes every connection, stalled answers included, so tests end promptly. */
  close(): Promise<void>;
  events: EventEmitter;
}

export async function startMock(opts: MockOptions = {}): Promise<MockServer> {
  const o = resolveOptions(opts);
  const events = new EventEmitter();
  // Tests may wait on many requests' events at once; the default cap of 10 listeners would only warn.
  events.setMaxListeners(0);
  const ctx: MockContext = {
    opts: o,
    stats: new StatsRecorder(),
    slots: new SlotPool(o.slots, o.queueSize),
    events,
    headers: o.name === undefined ? {} : { 'x-mock-name': o.name },
    live: new Set(),
    generations: 0,
    nextId: 0,
    now: () => performance.now(),
    rpm: o.rpm === undefined ? undefined : new SlidingWindowLimiter(o.rpm),
    keyRpm: o.perKeyRpm === undefined ? undefined : new SlidingWindowLimiter(o.perKeyRpm),
    outage: undefined,
    promptCache: o.kind === 'deepseek' ? new PromptCache() : undefined,
    hung: new Set(),
  };
  const server = createServer(createHandler(ctx));
  await listen(server, o.port, o.host);
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  // After the first listen, so port 0 has become a real port that a 'refuse' outage can come back on.
  const outages = o.outages.length === 0 ? undefined : runOutages(ctx, server, () => listen(server, port, o.host));
  const shut = (): Promise<void> => {
    // The callback also runs (with an error) when a 'refuse' outage left the server closed: nothing to wait for.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const stop of ctx.live) stop();
    server.closeAllConnections();
    return closed;
  };
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    events,
    stats: () => ctx.stats.snapshot(),
    resetStats: () => ctx.stats.reset(),
    // Synchronous when there are no outages: a test that closes the mock sees its connections end at once.
    close: () => (closing ??= outages === undefined ? shut() : outages.stop().then(shut)),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
