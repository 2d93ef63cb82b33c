import type { Clock } from '../clock.ts';
import type { Config, RateLimits } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { RateDecision, SharedState } from '../state/shared-state.ts';
import { estimateTokens } from './estimate-tokens.ts';
import { rateLimitHeaders } from './ratelimit-headers.ts';

const MINUTE_MS = 60_000;

interface Limiter {
  key: string;
  kind: 'requests' | 'tokens';
  limit: number;
}

/**
 * Rate limits at the door, per gateway key, tenant and model: requests and tokens per minute (GCRA in the shared
 * state, so they hold across instances when it is Redis). A request that does not fit is refused at once with 429
 * and an exact Retry-After; one that fits carries OpenAI's `x-ratelimit-*` headers. The token estimate spent at the
 * door is corrected from the answer's usage afterwards. Undefined (left out of the pipeline) when no limit is configured.
 */
export function rateLimitStage(
  config: Config,
  deps: { state: SharedState; clock: Clock; metrics: Metrics },
): Stage<RequestContext> | undefined {
  if (!hasRateLimits(config)) return undefined;
  return {
    name: 'rate-limit',
    async run(ctx, next) {
      const limiters = limitersFor(config, ctx);
      if (limiters.length === 0) return next();
      const estimate = ctx.call === undefined ? 0 : estimateTokens(ctx.call.body);
      const now = Date.now();
      const spent: Limiter[] = [];
      const tightest: Partial<Record<Limiter['kind'], { l: Limiter; d: RateDecision }>> = {};
      for (const l of limiters) {
        const cost = l.kind === 'requests' ? 1 : estimate;
        const d = await deps.state.rateLimit(l.key, { limit: l.limit, periodMs: MINUTE_MS }, cost, now);
        if (!d.allowed) {
          // Give back what the limits checked before this one took: the request is not made.
          await Promise.all(
            spent.map((s) =>
              deps.state.rateLimit(
                s.key,
                { limit: s.limit, periodMs: MINUTE_MS },
                -(s.kind === 'requests' ? 1 : estimate),
                now,
              ),
            ),
          );
          deps.metrics.shed.inc({ reason: 'rate_limited', priority: ctx.priority });
          setHeaders(ctx, rateLimitHeaders(l.kind, l.limit, d));
          const why = Number.isFinite(d.retryAfterMs) ? '' : ' (this request alone is larger than the limit)';
          throw new SpillwayError(
            'rate_limited',
            `Rate limit reached for ${describe(l)}: ${l.limit} ${l.kind} per minute${why}.`,
            {
              retryAfterS: Number.isFinite(d.retryAfterMs) ? Math.max(1, Math.ceil(d.retryAfterMs / 1000)) : 60,
            },
          );
        }
        spent.push(l);
        const t = tightest[l.kind];
        if (t === undefined || d.remaining / l.limit < t.d.remaining / t.l.limit) tightest[l.kind] = { l, d };
      }
      for (const t of Object.values(tightest)) setHeaders(ctx, rateLimitHeaders(t.l.kind, t.l.limit, t.d));
      try {
        await next();
      } finally {
        const used = ctx.usage === undefined ? undefined : ctx.usage.promptTokens + ctx.usage.completionTokens;
        if (used !== undefined && used !== estimate) {
          const correction = used - estimate;
          await Promise.all(
            spent
              .filter((l) => l.kind === 'tokens')
              .map((l) => deps.state.rateLimit(l.key, { limit: l.limit, periodMs: MINUTE_MS }, correction, Date.now())),
          );
        }
      }
    },
  };
}

/** Every limit that applies to this request, from the most specific (key) to the broadest (model). */
function limitersFor(config: Config, ctx: RequestContext): Limiter[] {
  const out: Limiter[] = [];
  const add = (scope: string, limits: RateLimits | undefined) => {
    if (limits?.requestsPerMinute !== undefined)
      out.push({ key: `${scope}:rpm`, kind: 'requests', limit: limits.requestsPerMinute });
    if (limits?.tokensPerMinute !== undefined)
      out.push({ key: `${scope}:tpm`, kind: 'tokens', limit: limits.tokensPerMinute });
  };
  if (ctx.gatewayKey !== undefined) add(`key:${ctx.gatewayKey.sha256.slice(0, 16)}`, ctx.gatewayKey.limits);
  if (ctx.tenant !== undefined) add(`tenant:${ctx.tenant}`, config.tenants[ctx.tenant]?.limits);
  if (ctx.model !== undefined) add(`model:${ctx.model.name}`, ctx.model.limits);
  return out;
}

function describe(l: Limiter): string {
  const [scope, name] = l.key.split(':');
  return scope === 'key' ? 'this API key' : `${scope ?? ''} '${name ?? ''}'`;
}

function setHeaders(ctx: RequestContext, h: Record<string, string>): void {
  if (ctx.res.headersSent) return;
  for (const [k, v] of Object.entries(h)) ctx.res.setHeader(k, v);
}

/** True when any gateway-level limit is configured (the stage is left out otherwise). */
function hasRateLimits(config: Config): boolean {
  const any = (l: RateLimits | undefined) => l?.requestsPerMinute !== undefined || l?.tokensPerMinute !== undefined;
  return (
    config.auth.keys.some((k) => any(k.limits)) ||
    Object.values(config.tenants).some((t) => any(t.limits)) ||
    Object.values(config.models).some((m) => any(m.limits))
  );
}
