import { MAX_TIMER_MS } from '../clock.ts';

/**
 * Waits `ms`, or less if the client leaves: a backoff never outlives the request it serves. A wait longer than a
 * timer holds (a hedge delay scaled by a client's `max_tokens` of 1e12) waits as long as one can, never 1 ms.
 */
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
