import type { UpstreamConfig } from '../config/types.ts';

/** The longest the semantic lookup may add to a miss: past it the request goes on as an ordinary miss. */
const EMBED_TIMEOUT_MS = 2000;

/**
 * Calls the configured upstream's OpenAI-compatible `/embeddings` for one text. Any failure (refused, slow, an
 * unexpected shape) resolves to undefined: the semantic cache is an optimisation and never fails a request.
 */
export class Embedder {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly model: string;

  constructor(upstream: UpstreamConfig, model: string) {
    this.url = `${upstream.url}/embeddings`;
    const key = upstream.accounts[0]?.apiKey;
    this.headers = {
      ...upstream.headers,
      'content-type': 'application/json',
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    };
    this.model = model;
  }

  async embed(text: string, signal: AbortSignal): Promise<number[] | undefined> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify({ model: this.model, input: text, encoding_format: 'float' }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(EMBED_TIMEOUT_MS)]),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        return undefined;
      }
      const j = (await res.json()) as { data?: { embedding?: unknown }[] };
      const v = j.data?.[0]?.embedding;
      return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number') ? v : undefined;
    } catch {
      return undefined;
    }
  }
}
