import type { UpstreamConfig } from '../config/types.ts';
import { kindFromModels, type UpstreamKind } from './upstream-kind.ts';

/** A model listing larger than this is not read (bytes): a listing is a few KB; the probe must stay cheap. */
const MAX_LISTING_BYTES = 1024 * 1024;

/**
 * One `GET {url}/models` to the upstream, to learn its kind from the listing's `owned_by` (upstream-kind.ts).
 * Bounded by `timeoutMs` from start to last byte; never throws: any failure (refused, slow, 401, not JSON,
 * an unknown shape) is simply "not known" and the caller keeps its static kind.
 */
export async function probeKind(upstream: UpstreamConfig, timeoutMs: number): Promise<UpstreamKind | undefined> {
  const key = upstream.accounts[0]?.apiKey;
  const headers: Record<string, string> = { ...upstream.headers, accept: 'application/json' };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  try {
    // Loaded when a probe runs (undici-dispatchers.ts says why not at startup).
    const { request } = await import('undici');
    const res = await request(`${upstream.url}/models`, {
      method: 'GET',
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_LISTING_BYTES) {
        res.body.destroy();
        return undefined;
      }
      chunks.push(c);
    }
    return kindFromModels(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    return undefined;
  }
}
