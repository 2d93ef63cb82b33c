import type { Usage } from '../server/context.ts';

const HAS_USAGE = /"usage"\s*:\s*\{/;

/** Token usage from an OpenAI/DeepSeek response object, or undefined when it carries none. */
export function usageOf(obj: unknown): Usage | undefined {
  const u = (obj as { usage?: Record<string, unknown> } | null)?.usage;
  if (u === null || typeof u !== 'object') return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const cached = (u.prompt_tokens_details as Record<string, unknown> | null | undefined)?.cached_tokens;
  const usage: Usage = {
    promptTokens: n(u.prompt_tokens),
    completionTokens: n(u.completion_tokens),
    promptCacheHitTokens: n(u.prompt_cache_hit_tokens ?? cached),
  };
  // The miss side only when the upstream reports a cache split at all: a server without a context cache reports
  // neither, and counting its whole prompt as misses would make every cache-hit ratio look broken.
  if (typeof u.prompt_cache_miss_tokens === 'number' && Number.isFinite(u.prompt_cache_miss_tokens))
    usage.promptCacheMissTokens = u.prompt_cache_miss_tokens;
  else if (typeof cached === 'number' && Number.isFinite(cached))
    usage.promptCacheMissTokens = Math.max(0, usage.promptTokens - cached);
  return usage;
}

/** Cheap pre-check so only the chunk that carries usage is parsed. */
export function mayCarryUsage(text: string): boolean {
  return text.includes('"usage"') && HAS_USAGE.test(text);
}

/**
 * The `usage` object of a JSON answer, parsed alone: a non-stream answer can be large and is relayed as bytes, so
 * only the small usage object is parsed (it comes last in OpenAI-shaped answers). Given the answer's bytes, only
 * the tail from `"usage"` on is decoded.
 */
export function usageInJson(json: string | Buffer): Usage | undefined {
  const at = json.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const text = typeof json === 'string' ? json.slice(at) : json.toString('utf8', at);
  const open = text.indexOf('{', 7);
  if (open < 0 || text.slice(7, open).trim() !== ':') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */ && --depth === 0) {
      try {
        const usage: unknown = JSON.parse(text.slice(open, i + 1));
        return usageOf({ usage });
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
