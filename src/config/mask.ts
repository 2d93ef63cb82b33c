/**
 * Secrets in config: upstream API keys, gateway and admin keys (and their SHA-256), job secrets, every header value of a header map and
 * passwords in URLs are masked wherever config is shown (check-config, GET /admin/config).
 */
// key_sha256 too: a hash of a short or guessable key can be searched offline, so it is as secret as the key.
const SECRET_KEYS = new Set(['api_key', 'key', 'key_sha256', 'secret', 'authorization', 'x-api-key', 'api-key']);

export function isSecretKey(name: string): boolean {
  return SECRET_KEYS.has(name.toLowerCase());
}

export function maskSecret(v: unknown): string {
  if (typeof v !== 'string' || v === '') return '****';
  return v.length >= 16 ? `****${v.slice(-4)}` : '****';
}

export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value) as [string, unknown][]) {
      if (isSecretKey(k) && typeof v !== 'object') out[k] = maskSecret(v);
      // Header maps (upstream extra headers, tracing export headers) carry vendor tokens under any name.
      else if (k === 'headers' && v !== null && typeof v === 'object' && !Array.isArray(v))
        out[k] = Object.fromEntries(Object.keys(v).map((h) => [h, '****']));
      else out[k] = maskSecrets(v);
    }
    return out;
  }
  return typeof value === 'string' ? maskUrlPassword(value) : value;
}

/** `redis://:pass@host` and `https://user:pass@host`: the password is a secret wherever the URL is shown. */
function maskUrlPassword(s: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(s)) return s;
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1****@');
}
