import type { UpstreamKind } from './upstream-kind.ts';
import { repairReasoning } from './reasoning-repair.ts';

/** Where one attempt goes on its upstream, and the bytes it sends. */
export interface UpstreamRequest {
  /** Full request path: the upstream's base path, maybe switched to DeepSeek's `/beta`, then the endpoint. */
  path: string;
  body: Buffer | string;
}

/**
 * The path and body of an attempt for an upstream of `kind` (pure). Only DeepSeek needs anything: its beta
 * features — chat prefix completion (a last assistant message with `prefix: true`, which is also how Spillway
 * continues a cut stream), FIM (`/completions`, which DeepSeek serves only as FIM) and strict tools — are served
 * only under `/beta`, and a tool loop needs `reasoning_content` on its assistant turns (reasoning-repair.ts).
 * The user keeps one base URL; the request is routed here.
 *
 * Cost on the common path: nothing for other kinds; for DeepSeek a byte search for each key ("prefix", "strict",
 * "tool_calls": about 10 µs on a 23 KB body), and a parse only when one occurs (a request that uses the feature,
 * a tool loop, or one that mentions the word).
 */
export function upstreamRequest(
  kind: UpstreamKind,
  basePath: string,
  path: string,
  body: Buffer | string,
): UpstreamRequest {
  if (kind !== 'deepseek') return { path: basePath + path, body };
  if (path === '/completions') return { path: betaBasePath(basePath) + path, body };
  if (path !== '/chat/completions') return { path: basePath + path, body };
  // Needles without their closing quote: the search skips ahead by the needle's last character, and a `"` is in
  // every JSON string (3x slower on a 23 KB body). A false match only costs a parse.
  const mayBeta = body.includes('"prefix') || body.includes('"strict');
  const mayRepair = body.includes('"tool_calls');
  if (!mayBeta && !mayRepair) return { path: basePath + path, body };
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { path: basePath + path, body }; // not ours to judge: the upstream answers it
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { path: basePath + path, body };
  const request = json as Record<string, unknown>;
  const beta = mayBeta && needsBeta(request);
  const repaired = mayRepair && repairReasoning(request);
  return { path: (beta ? betaBasePath(basePath) : basePath) + path, body: repaired ? JSON.stringify(request) : body };
}

/** A chat request uses a DeepSeek beta feature: prefix completion or a strict tool (pure). */
function needsBeta(request: Record<string, unknown>): boolean {
  const messages = request.messages;
  if (Array.isArray(messages)) {
    const last = messages.at(-1) as { role?: unknown; prefix?: unknown } | null | undefined;
    if (last?.role === 'assistant' && last.prefix === true) return true;
  }
  const tools = request.tools;
  if (Array.isArray(tools)) {
    for (const t of tools as unknown[]) {
      const fn = typeof t === 'object' && t !== null ? (t as { function?: { strict?: unknown } }).function : undefined;
      if (fn?.strict === true) return true;
    }
  }
  return false;
}

/**
 * DeepSeek's beta base path for a configured base path (pure): `/beta` in place of a trailing `/v1` (DeepSeek's
 * alias of its root), appended otherwise (a proxy prefix stays), unchanged when it is already the beta one.
 */
export function betaBasePath(basePath: string): string {
  if (basePath.endsWith('/beta')) return basePath;
  return `${basePath.replace(/\/v1$/, '')}/beta`;
}
