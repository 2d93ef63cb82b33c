/**
 * What software answers behind an upstream's URL. It decides the quirks Spillway handles for that upstream: where
 * DeepSeek's beta features go (`/beta`), how a cut stream is continued, what a 429 body says.
 */
export const UPSTREAM_KINDS = ['deepseek', 'vllm', 'sglang', 'ollama', 'openai'] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number];

/** Ollama's default port: a URL on it is Ollama in practice (nothing else claims 11434). */
const OLLAMA_PORT = '11434';

/**
 * The kind a URL alone tells (pure): DeepSeek's own API host, Ollama's default port or a host named after it.
 * Undefined when the URL says nothing (a self-hosted vLLM and SGLang look alike: only their answer tells).
 */
export function kindFromUrl(url: string): UpstreamKind | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = u.hostname.toLowerCase();
  if (host === 'api.deepseek.com' || host.endsWith('.deepseek.com')) return 'deepseek';
  if (u.port === OLLAMA_PORT || host.includes('ollama')) return 'ollama';
  return undefined;
}

/**
 * `owned_by` values that name the server itself in a `GET /models` listing, from each server's own source:
 * vLLM's ModelCard (`owned_by = "vllm"`), SGLang's ModelCard (`owned_by = "sglang"`), DeepSeek's API
 * (`"deepseek"`), Ollama's OpenAI layer (the model name's namespace, `"library"` for every official model).
 * OpenAI itself answers `openai`/`system`, and proxies answer anything: only these four are read as a kind.
 */
const OWNERS: ReadonlyMap<string, UpstreamKind> = new Map([
  ['vllm', 'vllm'],
  ['sglang', 'sglang'],
  ['deepseek', 'deepseek'],
  ['library', 'ollama'],
]);

/**
 * The kind a `GET /models` answer tells (pure): the one kind every recognised `owned_by` agrees on. Undefined for
 * any other shape, for a listing that names none of them, or for one that names two (a proxy in front of several).
 */
export function kindFromModels(listing: unknown): UpstreamKind | undefined {
  if (typeof listing !== 'object' || listing === null) return undefined;
  const data = (listing as { data?: unknown }).data;
  if (!Array.isArray(data)) return undefined;
  let kind: UpstreamKind | undefined;
  for (const m of data) {
    const owner = typeof m === 'object' && m !== null ? (m as { owned_by?: unknown }).owned_by : undefined;
    const k = typeof owner === 'string' ? OWNERS.get(owner.toLowerCase()) : undefined;
    if (k === undefined) continue;
    if (kind !== undefined && kind !== k) return undefined;
    kind = k;
  }
  return kind;
}
