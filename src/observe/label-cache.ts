/**
 * prom-client hashes the label object on every inc/set/observe; on the request path that is a measurable share of
 * the gateway's own CPU. Children (`metric.labels(...)`) are resolved once per label combination and kept here.
 */
export function labelCache<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const cache = new Map<string, T>();
  return (...values) => {
    const key = values.join('\u0001');
    let child = cache.get(key);
    if (child === undefined) {
      child = make(...values);
      cache.set(key, child);
    }
    return child;
  };
}
