import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import { renderError, toSpillwayError } from '../api/render-error.ts';
import { decodeSegment } from '../server/request-target.ts';
import { readJsonObject } from '../api/read-json-object.ts';
import { refused, type RequestGuard } from './request-guard.ts';

type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a route handler gets: the parsed URL and the values of its `:name` path segments. */
interface AdminRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export interface AdminRoute {
  method: AdminMethod;
  /** `/admin/upstreams/:name/drain`: literal segments and `:name` captures. Must start with /admin/ or /dashboard. */
  path: string;
  /**
   * Answered without the admin key: only for the dashboard's static code (page scripts, styles, the chart
   * library), which is the same for every install and carries no data. Everything with data needs the key.
   */
  public?: boolean;
  /**
   * The admin key is also taken from `?key=`: only where a browser cannot send a header (the dashboard page it is
   * opened at, its EventSource). Anywhere else a key in the URL would land in history and proxy logs.
   */
  queryKey?: boolean;
  handle(r: AdminRequest): void | Promise<void>;
}

interface Compiled {
  route: AdminRoute;
  segments: string[];
}

/**
 * The admin listener's router: `/admin/*` (JSON API) and `/dashboard*` (the live page). Each feature registers its
 * own routes at startup (`add`), so the admin surface grows without this file changing. Every route needs the
 * admin key when `admin.key` is set. Hand-written because it is a dozen literal paths with a few captures: a
 * router library would add a dependency to the hot path's server for nothing.
 */
export class AdminRoutes {
  private readonly routes: Compiled[] = [];
  private keyDigest: Buffer | null;
  private readonly log: Logger;
  private readonly guard: RequestGuard | undefined;

  constructor(adminKey: string | null, log: Logger, guard?: RequestGuard) {
    this.keyDigest = adminKey === null ? null : digest(adminKey);
    this.log = log;
    this.guard = guard;
  }

  /** A reload may change admin.key: requests from now on need the new one. */
  setKey(adminKey: string | null): void {
    this.keyDigest = adminKey === null ? null : digest(adminKey);
  }

  /** Every registered route (docs/admin-api.md is checked against this list). */
  list(): readonly AdminRoute[] {
    return this.routes.map((c) => c.route);
  }

  add(...routes: AdminRoute[]): this {
    for (const route of routes) {
      if (!route.path.startsWith('/admin/') && !route.path.startsWith('/dashboard')) {
        throw new Error(`admin route ${route.path} must start with /admin/ or /dashboard`);
      }
      this.routes.push({ route, segments: route.path.split('/').slice(1) });
    }
    return this;
  }

  /** True when the path is the admin surface's (answered here, even with 401/404/405); false for everything else. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!path.startsWith('/admin/') && path !== '/admin' && !path.startsWith('/dashboard')) return false;
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    // Host and Origin before the key: a rebinding or cross-site page gets nothing, not even a 401.
    if (this.guard !== undefined && refused(req, res, () => this.guard?.origin(req))) return true;
    const open = this.routes.some((c) => c.route.public === true && match(c.segments, parts) !== undefined);
    const queryKey = this.routes.some((c) => c.route.queryKey === true && match(c.segments, parts) !== undefined);
    if (!open && !this.authorized(req, queryKey)) {
      req.resume();
      res.setHeader('www-authenticate', 'Bearer realm="spillway-admin"');
      renderError(
        res,
        new SpillwayError(
          'unauthorized',
          'The admin API and dashboard need the admin key (admin.key) as `Authorization: Bearer <key>` (the dashboard: open /dashboard?key=<key>).',
        ),
      );
      return true;
    }
    const allowed: string[] = [];
    for (const c of this.routes) {
      const params = match(c.segments, parts);
      if (params === undefined) continue;
      if (c.route.method !== req.method && !(c.route.method === 'GET' && req.method === 'HEAD')) {
        allowed.push(c.route.method);
        continue;
      }
      if (this.guard !== undefined && refused(req, res, () => this.guard?.write(req))) return true;
      const url = new URL(req.url ?? '/', 'http://admin');
      Promise.resolve()
        .then(() => c.route.handle({ req, res, url, params }))
        .catch((err: unknown) => {
          if (!res.headersSent) renderError(res, toSpillwayError(err, this.log, 'admin'));
          else res.destroy();
        });
      return true;
    }
    req.resume();
    if (allowed.length > 0) {
      res.setHeader('allow', [...new Set(allowed)].join(', '));
      renderError(
        res,
        new SpillwayError(
          'method_not_allowed',
          `${req.method ?? ''} is not allowed on ${path}; use ${[...new Set(allowed)].join(' or ')}.`,
        ),
      );
    } else {
      renderError(res, new SpillwayError('not_found', `Unknown admin path ${path}. See docs/admin-api.md.`));
    }
    return true;
  }

  private authorized(req: IncomingMessage, queryKey: boolean): boolean {
    if (this.keyDigest === null) return true;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h) : null;
    // The dashboard's page and EventSource cannot send headers; they pass the key as ?key= on the same origin.
    const fromQuery = queryKey ? new URL(req.url ?? '/', 'http://admin').searchParams.get('key') : null;
    const given = m?.[1] ?? fromQuery;
    return given !== null && given !== undefined && timingSafeEqual(digest(given), this.keyDigest);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function match(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const v = parts[i] as string;
    if (p.startsWith(':')) {
      const decoded = v === '' ? undefined : decodeSegment(v);
      if (decoded === undefined) return undefined;
      params[p.slice(1)] = decoded;
    } else if (p !== v) return undefined;
  }
  return params;
}

/** Reads a small JSON body (an admin command's arguments); an empty body is `{}`. */
export function readAdminJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return readJsonObject(req, { what: 'The admin request body', limit: 1024 * 1024, timeoutMs: 30_000 });
}
