import { requestRng, type Rng } from '../../src/mock/rng.ts';

/**
 * Seeded generators of hostile HTTP input: each returns the exact bytes to write on a fresh connection. The same
 * (seed, index) always gives the same bytes, so a failure is reproduced from the two numbers in its report.
 */
export interface FuzzInput {
  kind: Kind;
  /** The request method as sent (a HEAD answer has no body to check). */
  method: string;
  bytes: Buffer;
}

export const KINDS = ['framing', 'body', 'path', 'header', 'upload', 'admin', 'jobs', 'sse'] as const;
export type Kind = (typeof KINDS)[number];

class Draw {
  readonly r: Rng;
  constructor(r: Rng) {
    this.r = r;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const API_PATHS = [
  '/v1/chat/completions',
  '/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/models',
  '/models',
  '/embeddings/',
  '/v1/chat/completions/',
];
const JOB_PATHS = [
  '/v1/files',
  '/files',
  '/v1/batches',
  '/batches',
  '/v1/files/:id',
  '/v1/files/:id/content',
  '/v1/batches/:id',
  '/v1/batches/:id/cancel',
  '/v1/jobs/:id',
  '/jobs/:id',
];
const ADMIN_PATHS = [
  '/admin/upstreams',
  '/admin/upstreams/:id',
  '/admin/upstreams/:id/drain',
  '/admin/upstreams/:id/undrain',
  '/admin/reload',
  '/admin/requests',
  '/admin/stats',
  '/admin/config',
  '/admin/cache/purge',
  '/admin/jobs',
  '/admin/jobs/dead',
  '/admin/jobs/items/:id',
  '/admin/jobs/dead/:id/requeue',
  '/admin/jobs/dead/:id',
  '/dashboard',
  '/dashboard/',
  '/dashboard/assets/:id',
  '/admin',
  '/admin/',
];
const OPS_PATHS = ['/healthz', '/readyz', '/metrics'];
const IDS = [
  'mock0',
  'file-abc',
  'batch_1',
  'job-x',
  'dashboard.js',
  'uplot.min.js',
  '..',
  '.',
  '%2e%2e',
  'a'.repeat(300),
  '🙂',
  '%F0%9F%99%82',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%2F',
  '%252F',
  '\u00e9',
  ';',
  '*',
];
const ODD_PATH_BITS = [
  '%',
  '%%',
  '%E0%A4%A',
  '%FF',
  '%C0%80',
  '%ED%A0%80',
  '%00',
  '%0A',
  '%0D%0A',
  '//',
  '/../',
  '/./',
  '\\',
  '%5C',
  '?',
  '#',
  ';x=1',
  '%3F',
  '~',
  '@',
  ':',
  '%u0041',
  '%%30%30',
  'é',
  '\u00ff',
  '\t',
];
const HEADER_NAMES = [
  'x-spillway-priority',
  'x-spillway-deadline-ms',
  'x-stainless-timeout',
  'x-stainless-retry-count',
  'x-request-id',
  'cache-control',
  'authorization',
  'api-key',
  'x-api-key',
  'content-type',
  'accept',
  'prefer',
  'idempotency-key',
  'traceparent',
  'tracestate',
  'accept-encoding',
  'connection',
  'expect',
  'transfer-encoding',
  'content-length',
  'last-event-id',
  'origin',
  'host',
  'x-forwarded-for',
  'te',
  'upgrade',
  'range',
  'if-none-match',
];
const HEADER_VALUES = [
  '',
  ' ',
  'high',
  'low',
  'normal',
  'HIGH',
  'bogus',
  '-1',
  '0',
  '1',
  '1e309',
  'NaN',
  'Infinity',
  '99999999999999999999',
  '0.0001',
  '1e-300',
  'no-cache',
  'no-store',
  'Bearer ',
  'Bearer x',
  'Bearer \u00ff',
  'Basic Zm9vOmJhcg==',
  'application/json',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'text/event-stream',
  '*/*',
  'respond-async',
  'respond-async, wait=1',
  'gzip, br',
  'close',
  'keep-alive',
  '100-continue',
  'something-else',
  'chunked',
  'gzip, chunked',
  '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  '00-zz-zz-zz',
  'a'.repeat(2000),
  'x'.repeat(128),
  '/../../etc/passwd',
  'h2c',
  'bytes=0-1',
  '"x"',
  'null',
];
const BODY_KEYS = [
  'model',
  'messages',
  'prompt',
  'input',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'tools',
  'tool_choice',
  'response_format',
  'n',
  'user',
  'seed',
  'stop',
  'logprobs',
  'metadata',
  'store',
  'functions',
  'encoding_format',
  'dimensions',
  '__proto__',
  'constructor',
  'prototype',
  'endpoint',
  'input_file_id',
  'completion_window',
  'custom_id',
  'url',
  'body',
];
const STRINGS = [
  '',
  'chat',
  'embed',
  'nope',
  'chat ',
  'CHAT',
  '\u0000',
  '\ud800',
  '\u202e',
  '🙂'.repeat(10),
  'a'.repeat(5000),
  '<script>',
  '${ENV}',
  '../x',
  '%E0%A4%A',
  'system',
  'user',
  'assistant',
  'tool',
  'image_url',
  'text',
  'function',
  'batch',
  '24h',
  '/v1/chat/completions',
  'file-x',
  'null',
  '{}',
];

function randomString(d: Draw): string {
  if (d.chance(0.6)) return d.pick(STRINGS);
  const n = d.int(0, 40);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(d.chance(0.8) ? d.int(32, 126) : d.int(0, 0xffff));
  return s;
}

function randomNumber(d: Draw): number {
  return d.pick([0, -1, 1, 2, 1.5, 1e308, -1e308, 2 ** 53 + 1, 1e-320, 4096, 100000, d.int(-5, 5000)]);
}

/** A random JSON value, `depth` levels at most; sometimes a very deep one on purpose. */
function randomJson(d: Draw, depth: number): unknown {
  const t = d.int(0, depth <= 0 ? 3 : 6);
  switch (t) {
    case 0:
      return null;
    case 1:
      return d.chance(0.5);
    case 2:
      return randomNumber(d);
    case 3:
      return randomString(d);
    case 4:
      return Array.from({ length: d.int(0, 4) }, () => randomJson(d, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = d.int(0, 5); i > 0; i--)
        o[d.chance(0.7) ? d.pick(BODY_KEYS) : randomString(d)] = randomJson(d, depth - 1);
      return o;
    }
  }
}

/** A request body for an API route: mostly almost right (so it gets past the first checks), then broken somewhere. */
function apiBody(d: Draw): Buffer {
  const body: Record<string, unknown> = {
    model: d.chance(0.7) ? d.pick(['chat', 'embed']) : randomJson(d, 1),
    messages: d.chance(0.7)
      ? [
          {
            role: d.pick(['user', 'system', 'assistant', 'tool', 'bogus']),
            content: d.chance(0.7) ? randomString(d) : randomJson(d, 3),
          },
        ]
      : randomJson(d, 3),
  };
  if (d.chance(0.3))
    body.prompt = d.chance(0.5) ? Array.from({ length: d.int(0, 50) }, () => d.int(-10, 100000)) : randomJson(d, 2);
  if (d.chance(0.3)) body.input = randomJson(d, 2);
  if (d.chance(0.3)) body.stream = d.chance(0.7) ? d.chance(0.5) : randomJson(d, 1);
  if (d.chance(0.2)) body.max_tokens = randomNumber(d);
  if (d.chance(0.2)) body.tools = randomJson(d, 4);
  if (d.chance(0.15))
    body.messages = [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: randomString(d), detail: randomString(d) } },
          { type: 'text', text: randomString(d) },
        ],
      },
    ];
  for (let i = d.int(0, 3); i > 0; i--) body[d.pick(BODY_KEYS)] = randomJson(d, 3);
  let text = JSON.stringify(body);
  const mutation = d.int(0, 9);
  if (mutation === 0)
    text = text.slice(0, d.int(0, text.length)); // cut short
  else if (mutation === 1)
    text = `${text.slice(0, -1)},"x":${'['.repeat(d.int(100, 5000))}${']'.repeat(d.int(0, 5000))}}`; // deep
  else if (mutation === 2) text = text.replace(/"/g, d.pick(["'", '', '\\"']));
  else if (mutation === 3)
    return Buffer.concat([
      Buffer.from(text.slice(0, text.length >> 1)),
      Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
      Buffer.from(text.slice(text.length >> 1)),
    ]);
  else if (mutation === 4)
    text = d.pick(['', 'null', '[]', '0', '"x"', 'true', '{', '}', '{"model":}', '\u0000', ' '.repeat(1000)]);
  else if (mutation === 5) text = `${text}${text}`;
  return Buffer.from(text, 'utf8');
}

/** Every byte of the UTF-8 form as %XX (encodeURIComponent throws on a lone surrogate, which is one of the draws). */
function percentEncoded(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

function fillPath(d: Draw, template: string): string {
  return template.replace(/:id/g, () => (d.chance(0.5) ? d.pick(IDS) : percentEncoded(randomString(d)).slice(0, 200)));
}

/** A path with odd encodings spliced in. */
function oddPath(d: Draw): string {
  const base = d.pick([...API_PATHS, ...JOB_PATHS, ...ADMIN_PATHS, ...OPS_PATHS]);
  let p = fillPath(d, base);
  for (let i = d.int(1, 3); i > 0; i--) {
    const at = d.int(0, p.length);
    p = p.slice(0, at) + d.pick(ODD_PATH_BITS) + p.slice(at);
  }
  if (d.chance(0.2))
    p = `${p}?${d.pick(['key=', 'key=%', 'limit=-1', 'limit=1e309', 'after=%E0%A4%A', 'a=1&a=2', '&&&', '=', 'purpose=%00'])}`;
  if (d.chance(0.05))
    p = d.pick(['*', 'http://[', 'http://example.com/v1/models', '//[', '', '/'.repeat(3000), `/${'a/'.repeat(2000)}`]);
  return p;
}

/** Only the printable ASCII of `s` (a header value with CR or LF would be a different request, not a bad value). */
function printable(s: string): string {
  return [...s].filter((c) => c >= ' ' && c <= '~').join('');
}

function randomHeaders(d: Draw, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = d.pick(HEADER_NAMES);
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'host' || name === 'connection') continue;
    out.push(`${name}: ${d.chance(0.8) ? d.pick(HEADER_VALUES) : printable(randomString(d))}`);
  }
  return out;
}

/** The bytes of one request: request line, headers (Host and Connection: close unless asked), body with its length. */
function request(
  method: string,
  path: string,
  headers: string[],
  body?: Buffer,
  opts: { keepAlive?: boolean } = {},
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers];
  if (opts.keepAlive !== true) lines.push('Connection: close');
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);
}

function framing(d: Draw): FuzzInput {
  const method = d.pick([...METHODS, 'get', 'G ET', 'PRI', 'CONNECT', 'TRACE', 'X'.repeat(50), '']);
  const path = d.pick([...API_PATHS, '/healthz', '*', '/admin/stats']);
  const version = d.chance(0.7)
    ? 'HTTP/1.1'
    : d.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 extra', 'HTTPS/1.1', '', 'HTTP/1.x', 'http/1.1']);
  const headers: string[] = ['Host: 127.0.0.1', 'Connection: close'];
  const body = d.chance(0.5) ? apiBody(d) : Buffer.alloc(0);
  switch (d.int(0, 13)) {
    case 0:
      headers.push('Broken header line');
      break;
    case 1:
      headers.push(`X-Big: ${'a'.repeat(d.int(17_000, 70_000))}`);
      break;
    case 2:
      headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 3:
      headers.push(`Content-Length: ${d.pick(['abc', '-1', '1e3', ' ', '0x10', '99999999999999999999'])}`);
      break;
    case 4:
      headers.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
      break;
    case 5:
      headers.push(` folded: continuation`, 'X-A: b');
      break;
    case 6:
      headers.push(`X-Nul: a\u0000b`);
      break;
    case 7:
      headers.push(`Bad Name: x`, `X-\u00ff: y`);
      break;
    case 8: {
      // A chunked body with a broken chunk (size, extension or terminator).
      const chunks = d.pick([
        'zz\r\nabc\r\n0\r\n\r\n',
        `${body.length.toString(16)}\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
        `5;${'e'.repeat(20_000)}\r\nabcde\r\n0\r\n\r\n`,
        '3\r\nabcdef\r\n0\r\n\r\n',
        'fffffffffffffffff\r\n',
        '-1\r\n\r\n',
        '0\r\nX-Trailer: y\r\n\r\n',
      ]);
      const raw = `${method || 'POST'} ${path} ${version}\r\n${[...headers, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\n${chunks}`;
      return { kind: 'framing', method, bytes: Buffer.from(raw, 'latin1') };
    }
    case 9:
      return {
        kind: 'framing',
        method,
        bytes: Buffer.from(Array.from({ length: d.int(1, 400) }, () => d.int(0, 255))),
      };
    case 10:
      return { kind: 'framing', method, bytes: Buffer.from(`${method} ${path}\n\n`, 'latin1') };
    case 11:
      headers.push(...Array.from({ length: d.int(100, 300) }, (_, i) => `X-H${i}: ${i}`));
      break;
    case 12:
      return {
        kind: 'framing',
        method,
        bytes: Buffer.from(
          `${method} ${path} ${version}\r\nHost: x\r\nConnection: close\r\n\r\n`.replace(
            /\r\n/g,
            d.pick(['\n', '\r', '\r\r\n', '\n\r']),
          ),
          'latin1',
        ),
      };
    default:
      headers.push(`Content-Length: ${body.length}`);
  }
  const head = Buffer.from(`${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  return { kind: 'framing', method, bytes: Buffer.concat([head, body]) };
}

function bodyInput(d: Draw): FuzzInput {
  const path = d.pick(API_PATHS.filter((p) => !p.includes('models')));
  const ct = d.chance(0.8) ? ['content-type: application/json'] : randomHeaders(d, 1);
  let body = apiBody(d);
  if (d.chance(0.01)) body = Buffer.alloc(1024 * 1024 + d.int(1, 1000), 0x61); // over the body limit
  return { kind: 'body', method: 'POST', bytes: request('POST', path, [...ct, 'x-spillway-deadline-ms: 3000'], body) };
}

function pathInput(d: Draw): FuzzInput {
  const method = d.pick(METHODS);
  const body = method === 'POST' || method === 'PUT' ? apiBody(d) : undefined;
  return { kind: 'path', method, bytes: request(method, oddPath(d), ['x-spillway-deadline-ms: 3000'], body) };
}

function headerInput(d: Draw): FuzzInput {
  const method = d.chance(0.7) ? 'POST' : d.pick(METHODS);
  const path = d.pick([...API_PATHS, ...OPS_PATHS, '/v1/files', '/v1/batches', '/admin/stats']);
  const headers = randomHeaders(d, d.int(1, 8));
  return {
    kind: 'header',
    method,
    bytes: request(method, path, headers, method === 'POST' ? apiBody(d) : undefined, { keepAlive: d.chance(0.1) }),
  };
}

const BATCH_LINE =
  '{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{"model":"chat","messages":[{"role":"user","content":"hi"}]}}';

function uploadInput(d: Draw): FuzzInput {
  const boundary = d.pick(['b0undary', 'x', '-'.repeat(70), 'a b', '"q"', '']);
  const content = d.chance(0.5) ? `${BATCH_LINE}\n`.repeat(d.int(0, 5)) : randomString(d);
  const parts: string[] = [];
  if (d.chance(0.8))
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${d.chance(0.8) ? 'batch' : randomString(d)}\r\n`,
    );
  if (d.chance(0.9)) {
    const name = d.chance(0.8) ? 'file' : d.pick(['files', '', 'purpose', randomString(d)]);
    const filename = d.chance(0.8)
      ? 'in.jsonl'
      : d.pick(['', '../../etc/passwd', 'a'.repeat(1000), '\u0000', '🙂.jsonl']);
    parts.push(
      `--${boundary}\r\nContent-Disposition: ${d.chance(0.9) ? 'form-data' : 'attachment'}; name="${name}"; filename="${filename}"\r\nContent-Type: application/jsonl\r\n\r\n${content}\r\n`,
    );
  }
  if (d.chance(0.1))
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="second.jsonl"\r\n\r\n${content}\r\n`,
    );
  let form = `${parts.join('')}${d.chance(0.8) ? `--${boundary}--\r\n` : ''}`;
  const cut = d.int(0, 9);
  if (cut === 0) form = form.slice(0, d.int(0, form.length)); // cut before the closing boundary
  if (cut === 1) form = form.replace(/\r\n/g, '\n');
  if (cut === 2) form = `${form}${'x'.repeat(600 * 1024)}`; // over jobs.max_file_bytes inside a part
  const ct = d.chance(0.85)
    ? `content-type: multipart/form-data; boundary=${boundary}`
    : d.pick([
        'content-type: application/json',
        'content-type: multipart/form-data',
        'content-type: multipart/mixed; boundary=x',
        'x-none: 1',
      ]);
  const bytes = Buffer.from(form, 'utf8');
  if (d.chance(0.03)) {
    // Promises more than it sends: the server must cut it at the body/upload timeout, not wait for ever.
    const head = `POST /v1/files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${ct}\r\nContent-Length: ${bytes.length + 100}\r\n\r\n`;
    return { kind: 'upload', method: 'POST', bytes: Buffer.concat([Buffer.from(head, 'latin1'), bytes]) };
  }
  return {
    kind: 'upload',
    method: 'POST',
    bytes: request('POST', d.pick(['/v1/files', '/files', '/v1/files/']), [ct], bytes),
  };
}

function adminInput(d: Draw): FuzzInput {
  const method = d.pick(['GET', 'GET', 'POST', 'DELETE', 'PUT', 'HEAD']);
  let path = fillPath(d, d.pick(ADMIN_PATHS));
  // Draining the only upstream would turn the rest of the run into 503s: undrain follows a drain's path.
  if (path.endsWith('/drain')) path = path.replace(/\/drain$/, '/undrain');
  if (path === '/admin/reload' && d.chance(0.8)) path = '/admin/requests';
  if (d.chance(0.2)) path += d.pick(['?limit=-5', '?limit=abc', '?key=', '?status=%E0', '?limit=99999999999']);
  const body =
    method === 'POST' ? (d.chance(0.5) ? Buffer.from(JSON.stringify(randomJson(d, 4))) : apiBody(d)) : undefined;
  const headers = d.chance(0.7) ? ['content-type: application/json'] : randomHeaders(d, 2);
  return { kind: 'admin', method, bytes: request(method, path, headers, body) };
}

function jobsInput(d: Draw): FuzzInput {
  const template = d.pick(JOB_PATHS);
  const path =
    fillPath(d, template) +
    (d.chance(0.2) ? d.pick(['?limit=0', '?limit=-1', '?after=%FF', '?purpose=', '?limit=1e400']) : '');
  const method = d.pick(['GET', 'POST', 'DELETE', 'POST']);
  let body: Buffer | undefined;
  if (method === 'POST') {
    const b: Record<string, unknown> = {
      endpoint: d.pick(['/v1/chat/completions', '/v1/embeddings', '/v1/x', randomJson(d, 1)]),
      input_file_id: d.pick(['file-x', randomJson(d, 1)]),
      completion_window: d.pick(['24h', '0s', '-1h', '1e9h', randomJson(d, 1)]),
    };
    if (d.chance(0.3)) b.metadata = randomJson(d, 4);
    body = d.chance(0.8) ? Buffer.from(JSON.stringify(b)) : apiBody(d);
  }
  const headers = ['content-type: application/json', ...(d.chance(0.3) ? randomHeaders(d, 2) : [])];
  return { kind: 'jobs', method, bytes: request(method, path, headers, body) };
}

function sseInput(d: Draw): FuzzInput {
  const toStats = d.chance(0.15);
  const headers = [
    d.pick(['accept: text/event-stream', 'accept: */*', 'accept: application/json']),
    ...(d.chance(0.5) ? [`last-event-id: ${d.pick(HEADER_VALUES)}`] : []),
    ...(d.chance(0.5)
      ? [`cache-control: ${d.pick(['no-cache', 'no-store', 'max-age=0', 'no-transform', printable(randomString(d))])}`]
      : []),
    ...(d.chance(0.3) ? [`prefer: ${d.pick(['respond-async', 'return=minimal'])}`] : []),
    'content-type: application/json',
    'x-spillway-deadline-ms: 3000',
  ];
  if (toStats)
    return {
      kind: 'sse',
      method: 'GET',
      bytes: request(
        'GET',
        d.pick(['/admin/stats/stream', '/admin/stats/stream?key=x', '/admin/stats/stream/']),
        headers,
      ),
    };
  const body: Record<string, unknown> = {
    model: 'chat',
    messages: [{ role: 'user', content: randomString(d) }],
    stream: d.chance(0.8) ? true : randomJson(d, 1),
  };
  if (d.chance(0.5)) body.stream_options = d.chance(0.5) ? { include_usage: d.chance(0.5) } : randomJson(d, 2);
  if (d.chance(0.3)) body.max_tokens = d.int(0, 40);
  return {
    kind: 'sse',
    method: 'POST',
    bytes: request(
      'POST',
      d.pick(['/v1/chat/completions', '/v1/completions']),
      headers,
      Buffer.from(JSON.stringify(body)),
    ),
  };
}

/** The generator stream of the fuzz inputs (any constant: it only keeps them apart from the mock's own draws). */
const FUZZ_STREAM = 0x66757a7a;

const GENERATORS: Record<Kind, (d: Draw) => FuzzInput> = {
  framing,
  body: bodyInput,
  path: pathInput,
  header: headerInput,
  upload: uploadInput,
  admin: adminInput,
  jobs: jobsInput,
  sse: sseInput,
};

/** Input number `index` of the run with `seed`: its kind cycles through KINDS so every kind gets its share. */
export function fuzzInput(seed: number, index: number): FuzzInput {
  const d = new Draw(requestRng(seed, FUZZ_STREAM, index));
  return GENERATORS[KINDS[index % KINDS.length] as Kind](d);
}
