import type { ServerResponse } from 'node:http';
import { sendJson } from '../server/send-json.ts';
import type { AdminRoute } from './admin-routes.ts';
import type { StatsSampler } from './stats-sampler.ts';

/**
 * GET /admin/stats: the latest frame (rates, percentiles, upstreams, queue, forecast, every metric family).
 * GET /admin/stats/stream: server-sent events: one `history` event with the recent chart points, then a frame every
 * sample. SSE rather than polling: one connection, the server decides the pace, EventSource reconnects by itself.
 */
export function statsRoutes(stats: StatsSampler): AdminRoute[] {
  return [
    { method: 'GET', path: '/admin/stats', handle: async ({ res }) => sendJson(res, 200, await stats.latest()) },
    {
      method: 'GET',
      path: '/admin/stats/stream',
      queryKey: true, // the dashboard's EventSource cannot send a header
      async handle({ req, res }) {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        send(res, 'history', { points: stats.history });
        send(res, 'frame', await stats.latest());
        const stop = stats.subscribe((f) => send(res, 'frame', f));
        req.on('close', stop);
        res.on('close', stop);
      },
    },
  ];
}

/** A viewer that stops reading is cut off (its browser reconnects) rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

function send(res: ServerResponse, event: string, data: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.writableLength > MAX_BUFFERED_BYTES) {
    res.destroy();
    return;
  }
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
