import type { Config } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from './context.ts';
import { readBody } from './read-body.ts';

/** Refuses new work while draining, and reads the body within its size and time limits. */
export function receiveStage(config: Config, isDraining: () => boolean): Stage<RequestContext> {
  const { bodyLimitBytes, bodyTimeoutMs } = config.server;
  return {
    name: 'receive',
    async run(ctx, next) {
      if (isDraining()) {
        ctx.res.setHeader('connection', 'close');
        throw new SpillwayError('draining', 'The gateway is shutting down; send the request to another instance.', {
          retryAfterS: 1,
        });
      }
      if (ctx.req.method === 'POST') ctx.body = await readBody(ctx.req, bodyLimitBytes, bodyTimeoutMs);
      await next();
    },
  };
}
