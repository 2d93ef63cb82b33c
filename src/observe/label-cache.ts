/**
 * prom-client hashes the label object on every inc/set/observe; on the request path that is a measurable share of
 * the gateway's own CPU. Children (`metric.labels(...)`) are resolved once per label combination and kept here, in
 * one map per label (nested by label order): a lookup is a few Map gets of strings, with no key string built.
 */
export function labelCache<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const root = new Map<string, unknown>();
  return (...values) => {
    let level = root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const v = values[i] as string;
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const key = values[last] ?? '';
    let child = level.get(key) as T | undefined;
    if (child === undefined) {
      child = make(...values);
      level.set(key, child);
    }
    return child;
  };
}
