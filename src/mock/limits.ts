import type { MockContext } from './context.ts';
import type { MockError } from './openai-error.ts';
import { retryAfterSeconds } from './rate-limit.ts';

/**
 * The account limits a real API enforces before a request reaches a model server, in this order: concurrency per
 * key, then requests per minute (all keys, and per key). Concurrency comes first so a request refused for it does
 * not use up a place in the minute. Returns the refusal, or undefined after recording the admission.
 */
export function checkLimits(ctx: MockContext, keyLabel: string): { reason: string; error: MockError } | undefined {
  const cap = ctx.opts.perKeyConcurrency;
  // Exact: the count is read and then raised (stats.enter) in the same synchronous turn, so no two requests
  // can both see the last free place.
  if (cap !== undefined && ctx.stats.inFlightFor(keyLabel) >= cap) {
    return {
      reason: 'key_concurrency',
      error: {
        status: 429,
        // DeepSeek names the account's limit only here, and it moves with the balance; a gateway can read it.
        message: ctx.opts.statesConcurrencyLimit
          ? `Request concurrency exceeds your concurrency limit of ${cap} based on your remaining balance`
          : 'concurrency limit exceeded',
        code: 'concurrency_limit_exceeded',
        retryAfterS: ctx.opts.retryAfterS,
      },
    };
  }
  const { rpm, keyRpm } = ctx;
  if (rpm === undefined && keyRpm === undefined) return undefined;
  const now = ctx.now();
  const waitAll = rpm?.waitMs('', now) ?? 0;
  const waitKey = keyRpm?.waitMs(keyLabel, now) ?? 0;
  if (waitAll > 0 || waitKey > 0) {
    const byKey = waitKey >= waitAll;
    const limit = byKey ? (keyRpm?.limit ?? 0) : (rpm?.limit ?? 0);
    const retryAfterS = retryAfterSeconds(Math.max(waitAll, waitKey));
    const message = `Rate limit reached on requests per min (RPM): Limit ${limit}. Please try again in ${retryAfterS}s.`;
    return {
      reason: byKey ? 'key_rpm' : 'rpm',
      error: { status: 429, message, code: 'rate_limit_exceeded', retryAfterS },
    };
  }
  rpm?.record('', now);
  keyRpm?.record(keyLabel, now);
  return undefined;
}
