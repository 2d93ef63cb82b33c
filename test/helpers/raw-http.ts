import { connect } from 'node:net';

/** One HTTP answer as read off the socket. `raw` is everything the server wrote. */
export interface RawAnswer {
  raw: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** True when the server wrote nothing and closed (or reset) the connection. */
  empty: boolean;
}

/**
 * Writes `bytes` to a new connection exactly as given (no client library normalises the request line, the path or
 * the headers) and reads until the server closes, or `timeoutMs` passes (then the connection is closed by us).
 * Pieces in `bytes` are written with `gapMs` between them when given (a slow or cut-short client).
 */
export function rawRequest(
  port: number,
  bytes: string | Buffer | (string | Buffer)[],
  opts: { timeoutMs?: number; gapMs?: number; endAfterWrite?: boolean } = {},
): Promise<RawAnswer> {
  const pieces = Array.isArray(bytes) ? bytes : [bytes];
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', () => {
      void (async () => {
        for (const p of pieces) {
          if (sock.destroyed) return;
          sock.write(p);
          if (opts.gapMs !== undefined) await new Promise((r) => setTimeout(r, opts.gapMs));
        }
        if (opts.endAfterWrite === true && !sock.destroyed) sock.end();
      })();
    });
  });
}

/** Parses the first answer in `raw` (status line, headers, body by content-length or chunked, else to the end). */
export function parseAnswer(raw: string): RawAnswer {
  const head = raw.indexOf('\r\n\r\n');
  if (raw.length === 0 || head < 0) return { raw, status: 0, headers: {}, body: '', empty: raw.length === 0 };
  const lines = raw.slice(0, head).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = raw.slice(head + 4);
  let body = rest;
  const cl = headers['content-length'];
  if (cl !== undefined) body = Buffer.from(rest, 'latin1').subarray(0, Number(cl)).toString('utf8');
  else if (headers['transfer-encoding'] === 'chunked') {
    body = '';
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) break;
      const n = parseInt(rest.slice(0, eol), 16);
      if (!Number.isFinite(n) || n === 0) break;
      body += rest.slice(eol + 2, eol + 2 + n);
      rest = rest.slice(eol + 2 + n + 2);
    }
    body = Buffer.from(body, 'latin1').toString('utf8');
  }
  return { raw, status: m === null ? -1 : Number(m[1]), headers, body, empty: false };
}

/** True when `body` is OpenAI's error JSON: `{"error":{"message":string,"type":string,"code":…}}`. */
export function isOpenAIError(body: string): boolean {
  try {
    const v = JSON.parse(body) as { error?: { message?: unknown; type?: unknown; code?: unknown } };
    return typeof v.error?.message === 'string' && typeof v.error.type === 'string' && 'code' in v.error;
  } catch {
    return false;
  }
}
