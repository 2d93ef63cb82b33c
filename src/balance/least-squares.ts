/**
 * The sums a least-squares line is made of, over `points` (pure): the means of x and y, and the sums of squared x
 * deviations and of x·y deviations. The slope is `sxy / sxx` where `sxx > 0`. Means first, then deviations: summed
 * deviations of x values all alike come out exactly 0, where running sums of squares leave rounding that reads as a
 * slope.
 */
interface Moments {
  mx: number;
  my: number;
  sxx: number;
  sxy: number;
}

export function moments<T>(points: readonly T[], x: (p: T) => number, y: (p: T) => number): Moments {
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += x(p);
    sy += y(p);
  }
  const mx = n === 0 ? 0 : sx / n;
  const my = n === 0 ? 0 : sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (x(p) - mx) ** 2;
    sxy += (x(p) - mx) * (y(p) - my);
  }
  return { mx, my, sxx, sxy };
}
