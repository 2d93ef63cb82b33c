import type { Problems } from './problems.ts';
import { resolveKeys } from './resolve-keys.ts';
import { configSchema, type RawConfig } from './schema.ts';
import type { ModelConfig } from './types.ts';
import { limitsOf } from './build-upstreams.ts';

const HEDGE = configSchema.properties.models.additionalProperties.properties.hedge;

/** The public models; every route must name an upstream (`upstreams`: their names, in order). */
export function modelsOf(raw: RawConfig, upstreams: readonly string[], p: Problems): Record<string, ModelConfig> {
  const models: Record<string, ModelConfig> = {};
  for (const [name, m] of Object.entries(raw.models)) {
    models[name] = {
      name,
      routes: m.routes.map((r, i) => {
        if (!upstreams.includes(r.upstream)) {
          p.at(
            ['models', name, 'routes', i, 'upstream'],
            `got "${r.upstream}", expected the name of an upstream (one of: ${upstreams.join(', ')})`,
          );
        }
        return { upstream: r.upstream, model: r.model ?? name, weight: r.weight, params: r.params };
      }),
      fallback: m.fallback,
      continuation: m.continuation,
      limits: limitsOf(m),
      degradeTo: m.degrade_to,
      // A hedge goes to another upstream: with one upstream there is none, and the hedge would only take and give
      // back a slot of the same one. Left out at startup rather than tried per request.
      hedge: new Set(m.routes.map((r) => r.upstream)).size < 2 ? null : resolveKeys(m.hedge, HEDGE),
    };
  }
  checkModelNames(raw, p);
  return models;
}

/** `degrade_to` and `fallback` name other public models of this config. */
function checkModelNames(raw: RawConfig, p: Problems): void {
  const others = (name: string): string =>
    Object.keys(raw.models)
      .filter((n) => n !== name)
      .join(', ') || 'none';
  for (const [name, m] of Object.entries(raw.models)) {
    if (m.degrade_to !== null && (m.degrade_to === name || !(m.degrade_to in raw.models))) {
      p.at(
        ['models', name, 'degrade_to'],
        `got "${m.degrade_to}", expected another public model (one of: ${others(name)})`,
      );
    }
    for (const [j, f] of m.fallback.entries()) {
      if (f === name || !(f in raw.models))
        p.at(['models', name, 'fallback', j], `got "${f}", expected another public model (one of: ${others(name)})`);
    }
  }
}
