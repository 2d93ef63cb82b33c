import { Pool } from '../../upstream/undici-dispatchers.ts';
import { UPSTREAM_PATH } from '../../api/endpoints.ts';
import { JOB_HEADERS } from './job-call-stage.ts';
import type { LeasedItem } from '../store/job-store.ts';

/** Largest answer read back from one item run (the relay's own cap for non-stream answers). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface ItemAnswer {
  /** 0 when the gateway could not be reached (it is shutting down). */
  status: number;
  body: Buffer;
  requestId: string;
  retryAfterS: number | undefined;
}

/**
 * Runs one job item through this gateway's own listener (loopback HTTP), so it takes exactly the path an interactive
 * request takes — authentication as its key, model routes and fallbacks, rate limits, the admission queue (in the
 * background class), retries with the retry budget, the balancer, account caps, relay and metrics — with nothing
 * re-implemented beside it. The alternative, calling the pipeline in process with a fake response object, would
 * need a stand-in for ServerResponse that every stage and the relay must keep honouring; a loopback call costs a
 * local round trip (well under a millisecond) on work that takes seconds.
 */
export class ItemCaller {
  private readonly pool: Pool;
  private readonly secret: string;

  constructor(loopbackUrl: string, secret: string, connections: number) {
    this.pool = new Pool(loopbackUrl, { connections, pipelining: 1 });
    this.secret = secret;
  }

  async run(it: LeasedItem, timeoutMs: number): Promise<ItemAnswer> {
    const requestId = `${it.id}.${it.attempts}`;
    try {
      const res = await this.pool.request({
        path: `/v1${UPSTREAM_PATH[it.endpoint]}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': requestId,
          'x-spillway-deadline-ms': String(timeoutMs),
          [JOB_HEADERS.secret]: this.secret,
          [JOB_HEADERS.tenant]: it.tenant,
          ...(it.keySha === null ? {} : { [JOB_HEADERS.key]: it.keySha }),
        },
        body: it.body,
        headersTimeout: timeoutMs + 5_000,
        bodyTimeout: timeoutMs + 5_000,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body) {
        size += (c as Buffer).length;
        if (size > MAX_ANSWER_BYTES) throw new Error('answer too large');
        chunks.push(c as Buffer);
      }
      const ra = Number(res.headers['retry-after']);
      return {
        status: res.statusCode,
        body: Buffer.concat(chunks),
        requestId,
        retryAfterS: Number.isFinite(ra) && ra > 0 ? ra : undefined,
      };
    } catch {
      return { status: 0, body: Buffer.alloc(0), requestId, retryAfterS: undefined };
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The `code` of an OpenAI-shaped error body, if it is one. */
export function errorCodeOf(body: Buffer): string | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } };
    return typeof v.error?.code === 'string' ? v.error.code : undefined;
  } catch {
    return undefined;
  }
}

export function errorMessageOf(status: number, body: Buffer): string {
  try {
    const v = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown; code?: unknown } };
    if (typeof v.error?.message === 'string')
      return `${status} ${typeof v.error.code === 'string' ? v.error.code : ''}: ${v.error.message}`.slice(0, 1000);
  } catch {
    // not JSON: fall through
  }
  return status === 0
    ? 'the gateway could not be reached (shutting down)'
    : `${status}: ${body.toString('utf8').slice(0, 500)}`;
}
