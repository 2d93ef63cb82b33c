import { request } from 'undici';
import type { JobsConfig } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { backoffDelayMs } from '../retry/backoff.ts';
import { jobObject } from './job-objects.ts';
import type { JobStore } from './job-store.ts';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts';

/**
 * Delivers due webhooks: POST of the job object (as `GET /v1/jobs/{id}` shows it), signed when a secret is set.
 * Delivery is at least once: a webhook is marked delivered only after a 2xx, so a crash between the two sends it
 * again — receivers deduplicate by the job id. Failed deliveries back off (1s doubling, 5 min cap) up to
 * jobs.webhook.max_attempts.
 */
export async function sendDueWebhooks(store: JobStore, config: JobsConfig, nowMs: number, metrics: Metrics, log: Logger): Promise<void> {
  const due = await store.webhooksDue(nowMs, 16);
  await Promise.all(due.map(async (w) => {
    const r = await store.getRequest(w.requestId);
    const item = await store.item(`${w.requestId}.0`);
    if (r === undefined || item === undefined) return;
    const body = JSON.stringify(jobObject(r, item));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'spillway-webhook' };
    if (config.webhook.secret !== null) headers[SIGNATURE_HEADER] = signWebhook(config.webhook.secret, body, nowMs / 1000);
    let ok = false;
    try {
      const res = await request(w.url, { method: 'POST', headers, body, headersTimeout: config.webhook.timeoutMs, bodyTimeout: config.webhook.timeoutMs });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 300;
    } catch (err) {
      log.warn({ err, job: w.requestId }, 'webhook delivery failed');
    }
    const last = w.attempts + 1 >= config.webhook.maxAttempts;
    const next = ok || last ? null : nowMs + backoffDelayMs(w.attempts, { baseMs: 1000, capMs: 300_000 }, Math.random, 1000);
    await store.webhookDone(w.requestId, ok, next);
    metrics.jobWebhooks.inc({ result: ok ? 'delivered' : last ? 'failed' : 'retry' });
  }));
}
