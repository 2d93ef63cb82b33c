import type { Config } from './config/types.ts';
import { compose, type Handler } from './pipeline.ts';
import type { RequestContext } from './server/context.ts';
import { receiveStage } from './server/receive-stage.ts';
import { parseStage } from './api/parse-stage.ts';
import { doorStage } from './api/door-stage.ts';
import type { ResponseStore } from './api/responses/response-store.ts';
import { authenticateStage } from './auth/authenticate-stage.ts';
import { resolveModelStage } from './route/resolve-model-stage.ts';
import { dispatchStage, type DispatchDeps } from './retry/dispatch-stage.ts';
import { rateLimitStage } from './admission/rate-limit-stage.ts';
import { degradeStage } from './admission/degrade-stage.ts';
import type { SharedState } from './state/shared-state.ts';
import type { Tracing } from './observe/tracing.ts';
import { cacheStage } from './cache/cache-stage.ts';
import type { ResponseCache } from './cache/response-cache.ts';
import type { Jobs } from './jobs/jobs.ts';
import { mayPassThrough } from './upstream/upstream-api.ts';

/** What the stages run on: the runtime's objects (lifecycle/runtime.ts) and the features that outlive a reload. */
export interface PipelineDeps extends DispatchDeps {
  isDraining: () => boolean;
  state: SharedState;
  /** Each feature below is undefined when it is off, and so is its stage. */
  tracing: Tracing | undefined;
  cache: ResponseCache | undefined;
  jobs: Jobs | undefined;
  responses: ResponseStore;
}

/** The request path: its handler, and its stages' names in order (docs/architecture.md is checked against them). */
export interface Pipeline {
  readonly run: Handler<RequestContext>;
  readonly stages: readonly string[];
}

/**
 * The request path, assembled once per config, one stage per line in request order. A stage whose feature is off
 * is `undefined` (its factory says so) and left out here rather than checked on every request.
 *
 *   trace? → receive → parse → job-call? → authenticate? → door → resolve-model → respond-async? → rate-limit? → degrade? → cache? → dispatch
 *   dispatch = queue (late binding) → balance → upstream → relay, per attempt
 *
 * Building the objects a pipeline runs on is lifecycle/runtime.ts; reloads, listening and shutdown are the other
 * files of lifecycle/.
 */
export function buildPipeline(config: Config, deps: PipelineDeps): Pipeline {
  const dispatch = dispatchStage(deps);
  const stages = [
    deps.tracing?.stage, //                                 observe: the request span (parent: the client's traceparent)
    receiveStage(config, deps.isDraining), //               server: drain gate, body limit and timeout
    parseStage, //                                          api: body → typed Call
    deps.jobs?.jobCall(config.auth.keys), //                jobs: a job item's own run → background class, as its key
    authenticateStage(config.auth.keys, config.tenants), // auth: key → tenant, priority
    doorStage(config, deps.responses), //                   api: Messages / Responses → chat Call, answers translated back
    resolveModelStage(config), //                           route: public model → routes; GET /v1/models
    deps.jobs?.respondAsync, //                             jobs: Prefer: respond-async → stored, then 202 + Location
    rateLimitStage(config, deps), //                        admission: requests/tokens per minute, 429 at once
    degradeStage(config, { ...deps, queueDepth: () => deps.queue.depth }), // admission: degrade under pressure
    cacheStage(config, deps.cache, { ...deps, passesThrough: passesThrough(config, deps) }, compose([dispatch])), // cache: hits, stale answers; a miss runs dispatch on a shared flight
    dispatch, //                                            retry loop: balance → upstream → relay, per attempt
  ];
  const present = stages.filter((s) => s !== undefined);
  return { run: compose(present), stages: present.map((s) => s.name) };
}

/** Whether a request may be passed through to a Messages upstream: the cache keeps its answers in Messages form. */
function passesThrough(config: Config, deps: PipelineDeps): (ctx: RequestContext) => boolean {
  return (ctx) =>
    ctx.model !== undefined && mayPassThrough(ctx.call?.native?.api, ctx.model, config, (u) => deps.pools.kind(u));
}
