import type { Server, ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { MockContext } from './context.ts';
import { OutageSchedule, realTimers, type Outage, type Timers } from './outages.ts';
import { countFault } from './report.ts';

/**
 * Applies scheduled outages to a listening server (the window logic is in outages.ts):
 *   refuse  server.close() and every open connection reset, so new connections get ECONNREFUSED like a dead
 *           process; at the end, listen again on the SAME port (retried every 50 ms if something else took it
 *           meanwhile — only then is 'outage-end' emitted)
 *   hang    requests are accepted and held unanswered; at the end their sockets are destroyed
 * Events on ctx.events: 'outage-start' and 'outage-end', each { index, mode, startMs, endMs }, emitted once the
 * state is in force (for 'refuse': once the listening socket is closed / open again).
 * Transitions run one after another, so an outage that ends while the previous step is still re-listening waits.
 * Should listening again fail for another reason than EADDRINUSE, 'outage-error' (the error) is emitted and the
 * mock stays down.
 */
export function runOutages(
  ctx: MockContext,
  server: Server,
  listen: () => Promise<void>,
  timers: Timers = realTimers,
): { stop(): Promise<void> } {
  let chain = Promise.resolve();
  let stopped = false;
  const then = (step: () => void | Promise<void>): void => {
    // Not 'error': an EventEmitter 'error' nobody listens to would crash the process hosting the mock.
    chain = chain.then(step).catch((err: unknown) => {
      ctx.events.emit('outage-error', err);
    });
  };
  const announce = (name: string, o: Outage, index: number): void => {
    ctx.events.emit(name, { index, mode: o.mode, startMs: o.startMs, endMs: o.endMs });
  };
  const schedule = new OutageSchedule(ctx.opts.outages, timers, {
    start(o, index) {
      then(async () => {
        if (stopped) return;
        ctx.outage = o.mode;
        if (o.mode === 'refuse') {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
        }
        announce('outage-start', o, index);
      });
    },
    end(o, index) {
      then(async () => {
        if (stopped) return;
        if (o.mode === 'refuse') await relisten(listen, timers, () => stopped);
        else {
          for (const res of ctx.hung) res.socket?.destroy();
          ctx.hung.clear();
        }
        ctx.outage = undefined;
        if (!stopped) announce('outage-end', o, index);
      });
    },
  });
  schedule.start();
  return {
    async stop() {
      stopped = true;
      schedule.stop();
      await chain;
    },
  };
}

async function relisten(listen: () => Promise<void>, timers: Timers, stopped: () => boolean): Promise<void> {
  for (;;) {
    try {
      return await listen();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || stopped()) throw err;
      await new Promise<void>((resolve) => timers.setTimeout(resolve, 50));
    }
  }
}

/** During a 'hang' outage: holds the request without ever answering it (control paths are never held). */
export function hang(ctx: MockContext, req: IncomingMessage, res: ServerResponse, path: string): void {
  req.resume();
  ctx.hung.add(res);
  res.once('close', () => ctx.hung.delete(res));
  countFault(ctx, { id: ++ctx.nextId, path }, 'outage_hang');
}
