import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockContext } from './context.ts';
import { resolveOptions, type MockOptions } from './options.ts';
import { createHandler } from './router.ts';
import { SlotPool } from './slots.ts';
import { StatsRecorder, type MockStats } from './stats.ts';

export type { MockOptions } from './options.ts';
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
  };
  const server = createServer(createHandler(ctx));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    events,
    stats: () => ctx.stats.snapshot(),
    resetStats: () => ctx.stats.reset(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const stop of ctx.live) stop();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
