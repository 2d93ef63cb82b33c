/**
 * The baseline Spillway is measured against: the least a Node pass-through can do. node:http in, one undici Pool
 * out (same pool settings as Spillway's: keep-alive, no pipelining), body forwarded as a stream, status, headers
 * and body relayed as they come. No parsing, no logging, no retries.
 */
import { createServer, type Server } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'host',
]);

export function createMinimalProxy(upstreamOrigin: string): { server: Server; close(): Promise<void> } {
  const pool = new Pool(upstreamOrigin, {
    connections: 256,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const server = createServer(async (req, res) => {
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) headers[k] = v;
      const up = await pool.request({ method: req.method as 'POST', path: req.url ?? '/', headers, body: req });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      await pipeline(up.body, res);
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  return {
    server,
    close: async () => {
      server.closeAllConnections();
      await pool.destroy();
    },
  };
}
