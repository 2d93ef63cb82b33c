import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AdminRoute } from './admin-routes.ts';
import { SpillwayError } from '../errors.ts';

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The live dashboard: a static page, its script and style (src/admin/dashboard/) and uPlot, served from the
 * installed `uplot` package rather than vendored, so `npm update` keeps it current and no build step exists. All
 * files are read once at startup. The page itself needs the admin key (?key=…); its code does not (it carries no
 * data); the data comes from /admin/stats/stream, which does.
 */
export function dashboardRoutes(): AdminRoute[] {
  const here = (f: string) => fileURLToPath(new URL(`./dashboard/${f}`, import.meta.url));
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>([
    ['dashboard.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(here('dashboard.js')) }],
    ['dashboard.css', { type: 'text/css; charset=utf-8', body: readFileSync(here('dashboard.css')) }],
    [
      'uPlot.iife.min.js',
      { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) },
    ],
    [
      'uPlot.min.css',
      { type: 'text/css; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) },
    ],
  ]);
  const page: Asset = { type: 'text/html; charset=utf-8', body: readFileSync(here('index.html')) };
  const serve =
    (a: Asset): AdminRoute['handle'] =>
    ({ req, res }) => {
      req.resume();
      res.writeHead(200, {
        'content-type': a.type,
        'content-length': a.body.length,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        // Everything the page loads is its own: nothing from elsewhere may run in a page that holds the admin key.
        'content-security-policy':
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      });
      res.end(req.method === 'HEAD' ? undefined : a.body);
    };
  return [
    { method: 'GET', path: '/dashboard', queryKey: true, handle: serve(page) }, // opened as /dashboard?key=…: a navigation sends no header
    {
      method: 'GET',
      path: '/dashboard/assets/:file',
      public: true,
      handle: (r) => {
        const a = assets.get(r.params.file ?? '');
        if (a === undefined) throw new SpillwayError('not_found', `No dashboard asset named '${r.params.file ?? ''}'.`);
        return serve(a)(r);
      },
    },
  ];
}
