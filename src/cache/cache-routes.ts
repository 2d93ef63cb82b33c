import { SpillwayError } from '../errors.ts';
import { readAdminJson, type AdminRoute } from '../admin/admin-routes.ts';
import { sendJson } from '../server/send-json.ts';
import type { ResponseCache } from './response-cache.ts';

/**
 * `POST /admin/cache/purge` with `{"model": "...", "tenant": "..."}` (either, both, or neither for everything):
 * removes stored answers from memory and Redis. Answers in flight are not stopped; they are stored when they land.
 */
export function cacheRoutes(cache: ResponseCache): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/admin/cache/purge',
      async handle({ req, res }) {
        const body = await readAdminJson(req);
        for (const field of ['model', 'tenant'] as const) {
          const v = body[field];
          if (v !== undefined && (typeof v !== 'string' || v === '')) {
            throw new SpillwayError('invalid_request', `'${field}' must be a non-empty string when given.`, {
              param: field,
            });
          }
        }
        const model = body.model as string | undefined;
        const tenant = body.tenant as string | undefined;
        const purged = await cache.purge({ model, tenant });
        sendJson(res, 200, { purged, model: model ?? null, tenant: tenant ?? null });
      },
    },
  ];
}
