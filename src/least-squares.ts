/**
 * Least-squares fits the estimators share (pure). Means first, then deviations: deviations of values all alike come
 * out exactly 0, where running sums of squares leave rounding that reads as a slope.
 */

/** The (co)variances a plane y = a + b1·x1 + b2·x2 is fitted from. */
export interface PlaneMoments {
  v11: number;
  v22: number;
  v12: number;
  c1y: number;
  c2y: number;
}

/** Spreads under this (squared units: tokens²) are alike: a slope on them would be made of rounding. */
const ALIKE = 1;

/**
 * The plane's slopes on x1 and x2. A flat or falling slope (a predictor that says nothing of y, or noise) is no reason
 * to treat points apart: it is 0, and the other predictor is fitted alone. When x1 and x2 move together, one of them
 * tells it all: x1 alone.
 */
export function planeSlopes(m: PlaneMoments): [number, number] {
  const alone1 = m.v11 >= ALIKE && m.c1y > 0 ? m.c1y / m.v11 : 0;
  const alone2 = m.v22 >= ALIKE && m.c2y > 0 ? m.c2y / m.v22 : 0;
  if (alone1 === 0 || alone2 === 0) return [alone1, alone2];
  const det = m.v11 * m.v22 - m.v12 * m.v12;
  if (det <= 1e-6 * m.v11 * m.v22) return [alone1, 0];
  const b1 = (m.c1y * m.v22 - m.c2y * m.v12) / det;
  const b2 = (m.c2y * m.v11 - m.c1y * m.v12) / det;
  if (b1 <= 0) return [0, alone2];
  if (b2 <= 0) return [alone1, 0];
  return [b1, b2];
}

/** The means and (co)variances of a plane's points (per point). */
export function planeMoments<T>(
  points: readonly T[],
  x1: (p: T) => number,
  x2: (p: T) => number,
  y: (p: T) => number,
): PlaneMoments & { m1: number; m2: number; my: number } {
  const n = Math.max(1, points.length);
  let m1 = 0;
  let m2 = 0;
  let my = 0;
  for (const p of points) {
    m1 += x1(p);
    m2 += x2(p);
    my += y(p);
  }
  [m1, m2, my] = [m1 / n, m2 / n, my / n];
  const m = { m1, m2, my, v11: 0, v22: 0, v12: 0, c1y: 0, c2y: 0 };
  for (const p of points) {
    const [d1, d2, dy] = [x1(p) - m1, x2(p) - m2, y(p) - my];
    m.v11 += (d1 * d1) / n;
    m.v22 += (d2 * d2) / n;
    m.v12 += (d1 * d2) / n;
    m.c1y += (d1 * dy) / n;
    m.c2y += (d2 * dy) / n;
  }
  return m;
}

/** The slope of a line through `points` by least squares, by the plane's rule: 0 when x is alike or the line falls. */
export function lineSlope<T>(points: readonly T[], x: (p: T) => number, y: (p: T) => number): number {
  return planeSlopes(planeMoments(points, x, () => 0, y))[0];
}
