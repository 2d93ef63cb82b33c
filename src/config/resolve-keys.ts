import { parseDuration } from './duration.ts';
import { DURATION_OR_AUTO_PATTERN, DURATION_PATTERN } from './duration.ts';
import type { Resolved } from './schema-types.ts';

/** The part of a schema node the rule reads; a node has other keywords too. */
type Node = {
  readonly pattern?: string;
  readonly properties?: Readonly<Record<string, Node>>;
  readonly [keyword: string]: unknown;
};

/**
 * The one renaming rule from the file's keys to the resolved config's, applied by the schema rather than written
 * out per key: snake_case becomes camelCase, a duration becomes milliseconds with `Ms` appended (`auto` becomes
 * null: the gateway adapts it), and a nested section is resolved alike. Lists and maps (whose keys are names the
 * user chose) are kept as they are. `Resolved<S>` is the same rule for the type checker.
 */
export function resolveKeys<const S extends Node>(raw: unknown, schema: S): Resolved<S> {
  return resolveNode(raw, schema) as Resolved<S>;
}

function resolveNode(raw: unknown, schema: Node): unknown {
  if (schema.pattern === DURATION_PATTERN) return ms(raw as string);
  if (schema.pattern === DURATION_OR_AUTO_PATTERN) return raw === 'auto' ? null : ms(raw as string);
  const props = schema.properties;
  if (props === undefined || raw === null || typeof raw !== 'object') return raw;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const sub = props[key];
    if (sub === undefined) continue; // the validator refused unknown keys: none is left here
    out[resolvedName(key, sub)] = resolveNode(value, sub);
  }
  return out;
}

function resolvedName(key: string, schema: Node): string {
  const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return schema.pattern === DURATION_PATTERN || schema.pattern === DURATION_OR_AUTO_PATTERN ? `${camel}Ms` : camel;
}

/** Milliseconds of a duration the schema's pattern already checked. */
export function ms(text: string): number {
  return parseDuration(text) ?? 0;
}
