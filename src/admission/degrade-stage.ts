import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import { DegradeMonitor } from './degrade-monitor.ts';

/** Refusals that count as shedding for the degrade trigger. */
const SHED_CODES = new Set(['rate_limited', 'deadline_unmeetable', 'queue_full', 'queue_timeout', 'no_capacity']);

/**
 * Graceful degradation (seed remedy): while the queue is deep or many requests are being refused, low-priority
 * requests go to the model's cheaper `degrade_to` model and `max_tokens` is capped — each visible in
 * `x-spillway-degraded` and counted in `spillway_degrade_actions_total`. Undefined (left out of the pipeline) when
 * no trigger is configured.
 */
export function degradeStage(
  config: Config,
  deps: { queueDepth: () => number; clock: Clock; metrics: Metrics },
): Stage<RequestContext> | undefined {
  const d = config.degrade;
  if (d.queueDepth === null && d.shedPercent === null) return undefined;
  const monitor = new DegradeMonitor(
    { queueDepth: d.queueDepth, shedPercent: d.shedPercent, windowMs: d.windowMs },
    deps.clock.now(),
  );
  return {
    name: 'degrade',
    async run(ctx, next) {
      const now = deps.clock.now();
      monitor.arrival(now);
      const active = monitor.active(deps.queueDepth(), now);
      deps.metrics.degraded.set(active ? 1 : 0);
      ctx.degraded = active;
      if (active) apply(ctx, config, deps.metrics);
      try {
        await next();
      } catch (err) {
        if (err instanceof SpillwayError && SHED_CODES.has(err.code)) monitor.shed(deps.clock.now());
        throw err;
      }
    },
  };
}

function apply(ctx: RequestContext, config: Config, metrics: Metrics): void {
  const call = ctx.call;
  const model = ctx.model;
  if (call === undefined || model === undefined) return;
  const before = { model, body: { ...call.body } };
  const actions: string[] = [];
  const target = model.degradeTo === null ? undefined : config.models[model.degradeTo];
  if (ctx.priority === 'low' && target !== undefined) {
    ctx.model = target;
    actions.push('cheaper_model');
  }
  const cap = config.degrade.maxTokens;
  if (cap !== null) {
    const key = call.body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
    const asked = call.body[key];
    if (typeof asked !== 'number' || asked > cap) {
      call.body[key] = cap;
      // The body changed: the exact client bytes can no longer be sent as they are.
      call.raw = Buffer.from(JSON.stringify(call.body));
      actions.push('max_tokens_capped');
    }
  }
  if (actions.length === 0) return;
  ctx.undegraded = before;
  for (const a of actions) metrics.degradeActions.inc({ action: a });
  ctx.res.setHeader('x-spillway-degraded', actions.join(', '));
}
