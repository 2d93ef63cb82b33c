/**
 * Waits (bounded) until `cond` holds, checking every 5 ms: for states no event announces, such as a metric
 * reaching a value or a flight table emptying. Throws naming `what` when `ms` pass first.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
