import { SpillwayError } from '../errors.ts';
import type { RequestLog } from '../observe/request-log.ts';
import { sendJson } from '../server/send-json.ts';
import type { AdminRoute } from './admin-routes.ts';

/** GET /admin/requests: the last finished requests, newest first, from the in-memory ring (admin.request_log_size). */
export function requestRoutes(log: RequestLog): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/admin/requests',
      handle({ res, url }) {
        const q = url.searchParams;
        const limitText = q.get('limit');
        const limit = limitText === null ? 100 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1)
          throw new SpillwayError('invalid_request', `limit must be a whole number ≥ 1; got "${limitText ?? ''}".`, {
            param: 'limit',
          });
        const errors = q.get('errors');
        if (errors !== null && errors !== 'true' && errors !== 'false')
          throw new SpillwayError('invalid_request', `errors must be true or false; got "${errors}".`, {
            param: 'errors',
          });
        const requests = log.recent({
          limit,
          upstream: q.get('upstream') ?? undefined,
          code: q.get('code') ?? undefined,
          errors: errors === 'true',
        });
        sendJson(res, 200, { capacity: log.size, requests });
      },
    },
  ];
}
