import type { DURATION_OR_AUTO_PATTERN, DURATION_PATTERN } from './duration.ts';

/**
 * Types read off the config schema (schema.ts), so a key's type is declared once, in the schema. They follow the
 * JSON Schema keywords the schema uses — `type` (one or a list), `enum`, `properties` with `required` and
 * `default`, `additionalProperties`, `items` — and nothing else; a keyword they do not know gives `unknown`, which
 * the code that reads the key then fails to compile against.
 */

/** The values a schema node accepts, once validated with its defaults filled in (Ajv's `useDefaults`). */
export type RawOf<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: infer T }
    ? ValueOf<T extends readonly (infer U)[] ? U : T, S>
    : unknown;

type ValueOf<T, S> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? S extends { readonly items: infer I }
            ? RawOf<I>[]
            : unknown[]
          : T extends 'object'
            ? ObjectOf<S>
            : never;

type ObjectOf<S> = S extends { readonly properties: infer P }
  ? KeysOf<P, S extends { readonly required: readonly (infer R)[] } ? R : never>
  : S extends { readonly additionalProperties: infer A extends object }
    ? Record<string, RawOf<A>>
    : Record<string, unknown>;

/** A key with a default (the validator fills it in) or a required one is always there; any other may be absent. */
type Present<P, R> = {
  [K in keyof P]: K extends R ? K : P[K] extends { readonly default: unknown } ? K : never;
}[keyof P];

type KeysOf<P, R> = Flat<
  { -readonly [K in Present<P, R>]: RawOf<P[K]> } & { -readonly [K in Exclude<keyof P, Present<P, R>>]?: RawOf<P[K]> }
>;

type Flat<T> = { [K in keyof T]: T[K] };

/** snake_case → camelCase, as the resolved config names keys. */
type Camel<K extends string> = K extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : K;

/**
 * A section of the resolved config as `resolveKeys` (resolve-keys.ts) makes it from the raw one: keys in
 * camelCase, durations in milliseconds with `Ms` appended (`auto` → null), nested sections alike; lists and maps as
 * they were, read-only.
 */
export type Resolved<S> = S extends { readonly pattern: typeof DURATION_PATTERN }
  ? number
  : S extends { readonly pattern: typeof DURATION_OR_AUTO_PATTERN }
    ? number | null
    : S extends { readonly properties: infer P }
      ? | ResolvedKeys<P, S extends { readonly required: readonly (infer R)[] } ? R : never>
        | (S extends { readonly type: readonly ['object', 'null'] } ? null : never)
      : ReadonlyDeep<RawOf<S>>;

type ResolvedKeys<P, R> = Flat<
  { [K in Present<P, R> as Renamed<K, P[K]>]: Resolved<P[K]> } & {
    [K in Exclude<keyof P, Present<P, R>> as Renamed<K, P[K]>]?: Resolved<P[K]>;
  }
>;

type Renamed<K, S> = K extends string
  ? S extends { readonly pattern: typeof DURATION_PATTERN | typeof DURATION_OR_AUTO_PATTERN }
    ? `${Camel<K>}Ms`
    : Camel<K>
  : never;

type ReadonlyDeep<T> = T extends (infer E)[]
  ? readonly ReadonlyDeep<E>[]
  : T extends object
    ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
    : T;
