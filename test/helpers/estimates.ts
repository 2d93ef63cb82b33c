/** Feeds `samples` to a silent estimator in turn and returns every estimate it made. */
export function feed<T>(q: { observe(sample: T): number | undefined }, samples: readonly T[]): number[] {
  const made: number[] = [];
  for (const s of samples) {
    const runs = q.observe(s);
    if (runs !== undefined) made.push(runs);
  }
  return made;
}
