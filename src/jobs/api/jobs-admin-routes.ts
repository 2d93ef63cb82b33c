import { SpillwayError } from '../../errors.ts';
import type { AdminRoute } from '../../admin/admin-routes.ts';
import { sendJson } from '../../server/send-json.ts';
import type { Clock } from '../../clock.ts';
import type { ItemView, JobStore } from '../store/job-store.ts';

/**
 * Admin API for jobs (docs/admin-api.md): counts by state, the dead-letter list, one item, requeue and purge. The
 * CLI's `spillway jobs` commands call these.
 */
export function jobsAdminRoutes(store: JobStore, wall: Clock, wake: () => void): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/admin/jobs',
      handle: async ({ res }) => {
        const s = await store.stats();
        sendJson(res, 200, {
          items: s.byState,
          oldest_queued_age_seconds:
            s.oldestQueuedAt === null ? 0 : Math.max(0, (wall.now() - s.oldestQueuedAt) / 1000),
        });
      },
    },
    {
      method: 'GET',
      path: '/admin/jobs/dead',
      handle: async ({ res, url }) => {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        const data = (await store.deadLetters(limit + 1, url.searchParams.get('after'))).map(itemJson);
        sendJson(res, 200, { object: 'list', data: data.slice(0, limit), has_more: data.length > limit });
      },
    },
    {
      method: 'GET',
      path: '/admin/jobs/items/:id',
      handle: async ({ res, params }) => {
        const it = await store.item(params.id ?? '');
        if (it === undefined) throw new SpillwayError('job_not_found', `No such job item: ${params.id ?? ''}.`);
        sendJson(res, 200, itemJson(it));
      },
    },
    {
      method: 'POST',
      path: '/admin/jobs/dead/:id/requeue',
      handle: async ({ res, params }) => {
        const ok = await store.requeue(params.id ?? '', wall.now());
        if (!ok) throw new SpillwayError('job_not_found', `No dead job item ${params.id ?? ''}.`);
        wake();
        sendJson(res, 200, { id: params.id, requeued: true });
      },
    },
    {
      method: 'DELETE',
      path: '/admin/jobs/dead/:id',
      handle: async ({ res, params }) => {
        const n = await store.purgeDead(params.id ?? '');
        if (n === 0) throw new SpillwayError('job_not_found', `No dead job item ${params.id ?? ''}.`);
        sendJson(res, 200, { purged: n });
      },
    },
    {
      method: 'DELETE',
      path: '/admin/jobs/dead',
      handle: async ({ res }) => sendJson(res, 200, { purged: await store.purgeDead(null) }),
    },
  ];
}

function itemJson(it: ItemView): Record<string, unknown> {
  return {
    id: it.id,
    job_id: it.jobId,
    custom_id: it.customId,
    tenant: it.tenant,
    state: it.state,
    attempts: it.attempts,
    last_error: it.lastError,
    enqueued_at: Math.floor(it.enqueuedAt / 1000),
    updated_at: Math.floor(it.updatedAt / 1000),
    response: it.result === null ? null : { status_code: it.result.status, request_id: it.result.requestId },
  };
}
