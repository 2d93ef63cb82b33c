/**
 * The longest delay a Node timer holds (2^31 − 1 ms, about 24.8 days): beyond it, or at Infinity, Node fires after
 * 1 ms instead. A hedge delay scaled by a client's `max_tokens` of 1e12 is that long, and must mean "never", not "now".
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms`, or less if the client leaves: a backoff never outlives the request it serves. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  ms = Math.min(ms, MAX_TIMER_MS);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
