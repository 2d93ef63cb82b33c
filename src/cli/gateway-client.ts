import { UsageError } from './args.ts';

/** A running gateway as the job commands reach it: `--url` and a bearer key (admin key or gateway key). */
export interface GatewayTarget {
  url: string;
  key: string | undefined;
}

export function targetOf(url: string | undefined, key: string | undefined): GatewayTarget {
  const u = (url ?? process.env.SPILLWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(u)) throw new UsageError(`--url expects an http(s) URL, got "${u}"`);
  return { url: u, key: key === '' ? undefined : key };
}

/** Calls the gateway; a non-2xx answer becomes an Error carrying the gateway's own message (printed by main). */
export async function call(
  t: GatewayTarget,
  method: string,
  path: string,
  body?: string | FormData,
  headers: Record<string, string> = {},
): Promise<unknown> {
  let res: Response;
  // State-changing admin calls must be JSON (admin/request-guard.ts); an upload's multipart type is fetch's to set.
  const json = method !== 'GET' && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {};
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      body,
      headers: { ...json, ...headers, ...(t.key === undefined ? {} : { authorization: `Bearer ${t.key}` }) },
    });
  } catch (err) {
    throw new Error(`cannot reach the gateway at ${t.url}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not an OpenAI-shaped error: keep the text
    }
    throw new Error(`${method} ${path}: ${res.status} ${message}`);
  }
  return text === '' ? {} : JSON.parse(text);
}
