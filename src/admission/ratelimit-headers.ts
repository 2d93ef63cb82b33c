import type { RateDecision } from '../state/shared-state.ts';

/** OpenAI's reset format: "1s", "6m0s", "1h2m3s", "250ms". */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** The `x-ratelimit-*` headers OpenAI sends, for the tightest requests and tokens limits that applied. */
export function rateLimitHeaders(kind: 'requests' | 'tokens', limit: number, d: RateDecision): Record<string, string> {
  return {
    [`x-ratelimit-limit-${kind}`]: String(limit),
    [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, d.remaining)),
    [`x-ratelimit-reset-${kind}`]: formatReset(d.resetMs),
  };
}
