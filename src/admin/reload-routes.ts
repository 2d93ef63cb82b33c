import type { ReloadResult } from '../lifecycle/reload-swap.ts';
import { sendJson } from '../server/send-json.ts';
import type { AdminRoute } from './admin-routes.ts';

/** POST /admin/reload: re-reads and validates the config file, then swaps it in without dropping a request. */
export function reloadRoutes(reload: () => Promise<ReloadResult>): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/admin/reload',
      async handle({ req, res }) {
        req.resume();
        sendJson(res, 200, { status: 'reloaded', ...(await reload()) });
      },
    },
  ];
}
