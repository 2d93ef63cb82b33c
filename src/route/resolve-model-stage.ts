import type { Config } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';

/**
 * Public model name → its routes. Also answers GET /v1/models, because the public models (as far as the caller's
 * key may use them) are exactly what this stage knows.
 */
export function resolveModelStage(config: Config): Stage<RequestContext> {
  const created = Math.floor(Date.now() / 1000);
  const names = Object.keys(config.models);
  return {
    name: 'resolve-model',
    async run(ctx, next) {
      const allowed = ctx.allowedModels;
      if (ctx.endpoint === 'models') {
        const data = names
          .filter((n) => allowed === null || allowed.includes(n))
          .map((id) => ({ id, object: 'model', created, owned_by: 'spillway' }));
        const body = JSON.stringify({ object: 'list', data });
        ctx.settled = true;
        ctx.res
          .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
          .end(body);
        return;
      }
      const call = ctx.call;
      if (call === undefined) throw new Error('resolve-model needs a call');
      const model = Object.hasOwn(config.models, call.model) ? config.models[call.model] : undefined;
      if (model === undefined) {
        // Only the models this key may use: the list must not tell a key about models kept from it.
        const usable = allowed === null ? names : names.filter((n) => allowed.includes(n));
        const asked = call.model.length > 200 ? `${call.model.slice(0, 200)}…` : call.model;
        throw new SpillwayError(
          'model_not_found',
          `The model '${asked}' does not exist. ${usable.length === 0 ? 'This key may use no model.' : `Available models: ${usable.join(', ')}.`}`,
          { param: 'model' },
        );
      }
      if (allowed !== null && !allowed.includes(model.name)) {
        throw new SpillwayError('model_not_allowed', `This key may not use the model '${model.name}'.`, {
          param: 'model',
        });
      }
      ctx.model = model;
      await next();
    },
  };
}
