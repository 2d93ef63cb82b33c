import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import { parseCall } from './parse-call.ts';

/** Turns the body into a typed Call (GET /v1/models has none; the other doors' bodies are read by door-stage.ts). */
export const parseStage: Stage<RequestContext> = {
  name: 'parse',
  async run(ctx, next) {
    if (ctx.endpoint !== 'models' && ctx.door === undefined)
      ctx.call = parseCall(ctx.endpoint, ctx.body ?? Buffer.alloc(0));
    await next();
  },
};
