import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../observe/metrics.ts';

/**
 * /healthz (the process is alive), /readyz (send traffic here; fails while draining) and /metrics (Prometheus).
 * Outside the API pipeline: an orchestrator's probe must not need a gateway key.
 */
export function opsRoutes(metrics: Metrics, isDraining: () => boolean) {
  return (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    switch (path) {
      case '/healthz':
        json(res, 200, { status: 'ok' });
        return true;
      case '/readyz':
        json(res, isDraining() ? 503 : 200, { status: isDraining() ? 'draining' : 'ready' });
        return true;
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
          },
          () => json(res, 500, { status: 'metrics unavailable' }),
        );
        return true;
      default:
        return false;
    }
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
