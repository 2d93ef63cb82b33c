/** Durations in config are strings with a unit ("250ms", "5s", "2m", "1h"), so a bare number is never ambiguous. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
/** A duration, or `auto`: the gateway adapts the value to what it observes (adaptive timeouts). */
export const DURATION_OR_AUTO_PATTERN = '^(auto|[0-9]+(\\.[0-9]+)?(ms|s|m|h))$';
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const RE = new RegExp(DURATION_PATTERN);

/** Returns milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!RE.test(text)) return undefined;
  const m = /^([0-9.]+)(ms|s|m|h)$/.exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}
