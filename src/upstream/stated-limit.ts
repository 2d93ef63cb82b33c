/**
 * The concurrency limit an upstream names in the body of its 429, if it names one. DeepSeek's per-account limit
 * depends on the account's balance and is told only there: "Request concurrency exceeds your concurrency limit of
 * 39 based on your remaining balance". Read, it is the account's cap at once, where learning it from refusals alone
 * costs one refused request per step. Only a number said to be a concurrency limit counts (a rate limit's "60 RPM"
 * is not one); an absurd number is ignored rather than trusted. Pure.
 */
const STATED = /concurren(?:cy|t(?: requests?)?)(?: request)? limit(?: is| of|:|=)?\s*(\d{1,6})\b/i;
const ZH_STATED = /并发(?:数)?(?:上限|限制)(?:为|是|:|:)?\s*(\d{1,6})/;

/** Largest stated limit believed: above it, a parsing accident is likelier than an account that large. */
const MAX_STATED = 100_000;

export function statedConcurrencyLimit(bodyText: string): number | undefined {
  const m = STATED.exec(bodyText) ?? ZH_STATED.exec(bodyText);
  if (m?.[1] === undefined) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= MAX_STATED ? n : undefined;
}
