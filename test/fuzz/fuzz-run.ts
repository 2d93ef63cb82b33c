import { connect } from 'node:net';
import { fuzzInput, KINDS, type FuzzInput, type Kind } from './fuzz-inputs.ts';
import type { FuzzTarget } from './fuzz-target.ts';

/** What one input got back, and what is wrong with it (empty when nothing is). */
export interface Observation {
  index: number;
  kind: Kind;
  status: number;
  problems: string[];
  excerpt: string;
}

export interface FuzzSummary {
  seed: number;
  inputs: number;
  seconds: number;
  /** Answers by kind and status class (2xx, 4xx, …; "closed" when the connection ended without one). */
  byKind: Record<string, Record<string, number>>;
  statuses: Record<string, number>;
  failures: Observation[];
  failureCount: number;
  rssStartMiB: number;
  /** RSS once half the inputs were answered. */
  rssMidMiB: number;
  /**
   * RSS once three quarters were: the leak check runs from here. RSS climbs by 120–160 MiB over the first ~10 000
   * inputs as the allocator settles on the largest inputs, then levels off; from three quarters on, a run of 25 000
   * inputs is past that too, where half-way it was not (214 → 252 MiB over the second half of one, no leak).
   */
  rssLastQuarterMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
  alive: boolean;
  errorLogLines: number;
}

const ANSWER_TIMEOUT_MS = 15_000;

/**
 * Writes one input on a fresh connection and reads one answer: complete when its declared length (or the chunked
 * terminator) has arrived, when the server closes, or, for an event stream, as soon as its headers are in.
 */
export function send(port: number, input: FuzzInput, index: number): Promise<Observation> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (why: 'complete' | 'closed' | 'timeout') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(judge(input, index, Buffer.concat(chunks, size), why));
    };
    const timer = setTimeout(() => finish('timeout'), ANSWER_TIMEOUT_MS);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (complete(Buffer.concat(chunks, size), input.method)) finish('complete');
    });
    sock.on('close', () => finish('closed'));
    sock.on('error', () => finish('closed'));
    sock.on('connect', () => sock.write(input.bytes));
  });
}

interface Head {
  status: number;
  headers: Map<string, string>;
  bodyAt: number;
  badLines: string[];
}

function parseHead(buf: Buffer): Head | undefined {
  let at = 0;
  // 1xx interim answers (100 Continue) come before the real one.
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(lines[0] ?? '');
    const status = m === null ? -1 : Number(m[1]);
    if (status >= 100 && status < 200) {
      at = end + 4;
      continue;
    }
    const headers = new Map<string, string>();
    const badLines: string[] = [];
    for (const l of lines.slice(1)) {
      const hm = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(l);
      if (hm === null) badLines.push(l);
      else headers.set((hm[1] as string).toLowerCase(), hm[2] as string);
    }
    return { status, headers, bodyAt: end + 4, badLines };
  }
}

/** The body of a chunked answer, or undefined while it is incomplete; null when the framing is broken. */
function dechunk(buf: Buffer): Buffer | undefined | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const n = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(n) || n < 0) return null;
    if (n === 0) return buf.indexOf('\r\n', eol + 2) < 0 ? undefined : Buffer.concat(parts);
    if (buf.length < eol + 2 + n + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
}

function noBody(status: number, method: string): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

function complete(buf: Buffer, method: string): boolean {
  const h = parseHead(buf);
  if (h === undefined) return false;
  if (noBody(h.status, method)) return true;
  if ((h.headers.get('content-type') ?? '').startsWith('text/event-stream')) return true;
  const body = buf.subarray(h.bodyAt);
  const cl = h.headers.get('content-length');
  if (cl !== undefined) return body.length >= Number(cl);
  if (h.headers.get('transfer-encoding') === 'chunked') return dechunk(body) !== undefined;
  return false;
}

function isOpenAIError(text: string): boolean {
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown; type?: unknown } };
    return typeof v.error?.message === 'string' && typeof v.error.type === 'string' && 'code' in v.error;
  } catch {
    return false;
  }
}

function judge(input: FuzzInput, index: number, buf: Buffer, why: 'complete' | 'closed' | 'timeout'): Observation {
  const problems: string[] = [];
  const obs = (status: number): Observation => ({
    index,
    kind: input.kind,
    status,
    problems,
    excerpt: buf.subarray(0, 300).toString('latin1'),
  });
  if (buf.length === 0) {
    problems.push(
      why === 'timeout' ? `no answer within ${ANSWER_TIMEOUT_MS} ms` : 'connection closed without an answer',
    );
    return obs(0);
  }
  const h = parseHead(buf);
  if (h === undefined) {
    problems.push(why === 'timeout' ? 'incomplete head at timeout' : 'no complete HTTP head');
    return obs(-1);
  }
  if (h.status < 0) problems.push('malformed status line');
  if (h.badLines.length > 0) problems.push(`malformed header line ${JSON.stringify(h.badLines[0]).slice(0, 80)}`);
  if (h.status === 500) problems.push('500');
  const sse = (h.headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (!noBody(h.status, input.method) && !sse) {
    let body: Buffer | undefined | null = buf.subarray(h.bodyAt);
    const cl = h.headers.get('content-length');
    if (cl !== undefined) {
      if (body.length < Number(cl)) problems.push(`body shorter than content-length (${why})`);
      body = body.subarray(0, Number(cl));
    } else if (h.headers.get('transfer-encoding') === 'chunked') {
      body = dechunk(body);
      if (body === null) problems.push('broken chunked framing');
      else if (body === undefined) problems.push(`chunked body not terminated (${why})`);
    } else if (why !== 'closed') problems.push('no content-length, no chunked framing, and not closed');
    if (h.status >= 400 && body !== null && body !== undefined && !isOpenAIError(body.toString('utf8')))
      problems.push(`${h.status} without an OpenAI-style JSON error body`);
  }
  return obs(h.status);
}

const MIB = 1024 * 1024;

/**
 * Sends `count` inputs of `seed` (kinds in turn) with `concurrency` connections at once and summarises. The target
 * is checked alive and its RSS sampled as it goes; `onProgress` is called every `progressEvery` inputs.
 */
export async function runFuzz(
  target: FuzzTarget,
  opts: {
    seed: number;
    count: number;
    concurrency: number;
    keepFailures?: number;
    onProgress?: (done: number, s: FuzzSummary) => void;
    progressEvery?: number;
  },
): Promise<FuzzSummary> {
  const started = performance.now();
  const s: FuzzSummary = {
    seed: opts.seed,
    inputs: 0,
    seconds: 0,
    byKind: Object.fromEntries(KINDS.map((k) => [k, {}])),
    statuses: {},
    failures: [],
    failureCount: 0,
    rssStartMiB: target.rssBytes() / MIB,
    rssMidMiB: 0,
    rssLastQuarterMiB: 0,
    rssEndMiB: 0,
    rssPeakMiB: 0,
    alive: true,
    errorLogLines: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < opts.count && s.alive) {
      const i = next++;
      const o = await send(target.port, fuzzInput(opts.seed, i), i);
      const cls = o.status <= 0 ? 'closed' : `${Math.floor(o.status / 100)}xx`;
      const byKind = s.byKind[o.kind] as Record<string, number>;
      byKind[cls] = (byKind[cls] ?? 0) + 1;
      s.statuses[String(o.status)] = (s.statuses[String(o.status)] ?? 0) + 1;
      if (o.problems.length > 0) {
        s.failureCount++;
        if (s.failures.length < (opts.keepFailures ?? 10)) s.failures.push(o);
      }
      s.inputs++;
      if (s.inputs % 250 === 0) {
        s.alive = target.alive();
        if (s.alive) s.rssPeakMiB = Math.max(s.rssPeakMiB, target.rssBytes() / MIB);
      }
      if (s.inputs === Math.ceil(opts.count / 2) && target.alive()) s.rssMidMiB = target.rssBytes() / MIB;
      if (s.inputs === Math.ceil((opts.count * 3) / 4) && target.alive()) s.rssLastQuarterMiB = target.rssBytes() / MIB;
      if (opts.onProgress !== undefined && s.inputs % (opts.progressEvery ?? 1000) === 0) opts.onProgress(s.inputs, s);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  s.alive = target.alive();
  if (s.alive) {
    s.rssEndMiB = target.rssBytes() / MIB;
    s.rssPeakMiB = Math.max(s.rssPeakMiB, s.rssEndMiB);
  }
  s.errorLogLines = target.errorLines.length;
  s.seconds = (performance.now() - started) / 1000;
  return s;
}

/** One line per failure: enough to replay it (seed, index) and see what came back. */
export function describeFailures(s: FuzzSummary): string {
  return s.failures
    .map(
      (f) =>
        `#${f.index} (${f.kind}, seed ${s.seed}): ${f.problems.join('; ')} :: ${JSON.stringify(f.excerpt).slice(0, 240)}`,
    )
    .join('\n');
}
