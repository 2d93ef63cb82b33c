import type { IncomingHttpHeaders } from 'node:http';

/** The bearer token of a request, else its `x-api-key` (the Anthropic Messages API's header), if any. */
export function bearerKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth === undefined) {
    const key = headers['x-api-key'];
    return typeof key === 'string' && key !== '' ? key : undefined;
  }
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  return m?.[1];
}

/**
 * How a key appears in stats and logs: "…" and its last four characters, so tests can tell keys apart while the
 * full key is never printed. Requests without a key count as "(none)".
 */
export function keyLabel(key: string | undefined): string {
  return key === undefined ? '(none)' : `…${key.slice(-4)}`;
}
