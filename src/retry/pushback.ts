import type { Outcome } from '../upstream/outcome.ts';

/**
 * An upstream's "busy" before any output is pushback, not failure: the balancer learns a lower limit from it (see
 * aimd-limit.ts), and the request goes back to Spillway's own queue, keeping its place, instead of spending a retry
 * or handing the upstream's "busy" to a client whose deadline still has room. Waiting on pushback is bounded by the
 * request's deadline (the queue refuses it honestly then); retry budgets bound retries of failures only.
 */
export function isPushback(o: Outcome): boolean {
  return o.kind === 'rate_limited' || o.kind === 'overloaded';
}

/**
 * Pushbacks one request absorbs per route of its model before further "busy" answers count as failures (retried
 * within the attempt cap and the budget, then answered). Learning a cap costs a request one or two; a fleet that
 * answers nothing but "busy" must not turn each client request into dozens of upstream requests.
 */
export const PUSHBACKS_PER_ROUTE = 3;
