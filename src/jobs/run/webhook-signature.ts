import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `x-spillway-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is inside the signed text, so a captured delivery cannot be replayed later than `toleranceS` with a
 * new timestamp; receivers verify against the raw body bytes before parsing them. Pure: time is passed in.
 */
export const SIGNATURE_HEADER = 'x-spillway-signature';

export function signWebhook(secret: string, body: string, nowS: number): string {
  const t = Math.floor(nowS);
  return `t=${t},v1=${hmac(secret, `${t}.${body}`)}`;
}

export type Verification = { ok: true } | { ok: false; why: 'malformed' | 'too_old' | 'mismatch' };

export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  nowS: number,
  toleranceS = 300,
): Verification {
  if (header === undefined) return { ok: false, why: 'malformed' };
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, why: 'malformed' };
  if (Math.abs(nowS - t) > toleranceS) return { ok: false, why: 'too_old' };
  const expected = Buffer.from(hmac(secret, `${t}.${body}`), 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex')) ? { ok: true } : { ok: false, why: 'mismatch' };
}

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}
