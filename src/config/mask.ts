/** Secrets in config: upstream API keys, gateway keys and auth-like headers are masked wherever config is shown. */
const SECRET_KEYS = new Set(['api_key', 'key', 'secret', 'authorization', 'x-api-key', 'api-key']);

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
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && typeof v !== 'object' ? maskSecret(v) : maskSecrets(v);
    return out;
  }
  return value;
}
