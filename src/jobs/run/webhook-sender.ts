import type { Dispatcher } from 'undici';
import type { JobsConfig } from '../../config/types.ts';
import type { Logger } from '../../observe/log.ts';
import type { Metrics } from '../../observe/metrics.ts';
import { backoffDelayMs } from '../../retry/backoff.ts';
import { jobObject } from '../api/job-objects.ts';
import type { JobStore } from '../store/job-store.ts';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts';
import { NonPublicAddressError, webhookUrlProblem } from './webhook-target.ts';

/**
 * Delivers due webhooks: POST of the job object (as `GET /v1/jobs/{id}` shows it), signed when a secret is set.
 * Delivery is at least once: a webhook is marked delivered only after a 2xx, so a crash between the two sends it
 * again — receivers deduplicate by the job id. Failed deliveries back off (1s doubling, 5 min cap) up to
 * jobs.webhook.max_attempts. `dispatcher` connects only to public addresses (webhook-target.ts) unless
 * jobs.webhook.allow_private; redirects are not followed (a 3xx is a failed delivery), so a receiver cannot bounce
 * the POST to a place the allow-list refuses. A destination refused now (allow-list changed, or it resolves to a
 * private address) is given up at once.
 */
export async function sendDueWebhooks(
  store: JobStore,
  config: JobsConfig,
  nowMs: number,
  metrics: Metrics,
  log: Logger,
  dispatcher: Dispatcher,
): Promise<void> {
  const due = await store.webhooksDue(nowMs, 16);
  await Promise.all(
    due.map(async (w) => {
      const r = await store.getRequest(w.requestId);
      const item = await store.item(`${w.requestId}.0`);
      if (r === undefined || item === undefined) return;
      const body = JSON.stringify(jobObject(r, item));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'spillway-webhook' };
      if (config.webhook.secret !== null)
        headers[SIGNATURE_HEADER] = signWebhook(config.webhook.secret, body, nowMs / 1000);
      let ok = false;
      let refused = webhookUrlProblem(w.url, config.webhook) !== null;
      if (refused)
        log.warn(
          { job: w.requestId, why: webhookUrlProblem(w.url, config.webhook) },
          'webhook destination refused; not sent',
        );
      else {
        try {
          // Loaded when a webhook is sent (upstream/undici-dispatchers.ts says why not at startup).
          const { request } = await import('undici');
          const res = await request(w.url, {
            method: 'POST',
            headers,
            body,
            headersTimeout: config.webhook.timeoutMs,
            bodyTimeout: config.webhook.timeoutMs,
            dispatcher,
          });
          await res.body.dump();
          ok = res.statusCode >= 200 && res.statusCode < 300;
        } catch (err) {
          refused =
            err instanceof NonPublicAddressError || (err as { cause?: unknown }).cause instanceof NonPublicAddressError;
          log.warn(
            { err, job: w.requestId },
            refused ? 'webhook destination resolves to a non-public address; not sent' : 'webhook delivery failed',
          );
        }
      }
      const last = refused || w.attempts + 1 >= config.webhook.maxAttempts;
      const next =
        ok || last ? null : nowMs + backoffDelayMs(w.attempts, { baseMs: 1000, capMs: 300_000 }, Math.random, 1000);
      await store.webhookDone(w.requestId, ok, next);
      metrics.jobWebhooks.inc({ result: ok ? 'delivered' : last ? 'failed' : 'retry' });
    }),
  );
}
