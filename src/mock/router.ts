import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody } from './body.ts';
import { deepseekRefusal } from './continuation.ts';
import { prepareChat } from './chat.ts';
import { prepareCompletion } from './completions.ts';
import type { Exchange, MockContext } from './context.ts';
import { prepareEmbeddings } from './embeddings.ts';
import type { Prepare } from './generation-request.ts';
import { bearerKey, keyLabel } from './keys.ts';
import { sendError } from './openai-error.ts';
import { hang } from './outage-glue.ts';
import { engineMetrics, servesEngineMetrics } from './engine-metrics.ts';
import { refuse } from './report.ts';
import { serveGeneration } from './serve-generation.ts';
import { prepareMessages } from './messages.ts';
import { isMessagesPath } from './messages-path.ts';
import { prepareResponses } from './responses.ts';

/**
 * Paths, served with and without the /v1 prefix (DeepSeek's documented base URL has none):
 *   POST /v1/chat/completions   POST /v1/completions   POST /v1/embeddings   GET /v1/models
 *   POST /beta/chat/completions   POST /beta/completions   (kind deepseek only, as DeepSeek's beta base URL)
 *   POST /v1/messages, also under /anthropic (the Anthropic Messages API: `api` anthropic or both, mock/messages.ts)
 *   POST /v1/responses          (OpenAI's Responses API: the `responses` option, mock/responses.ts)
 *   GET /mock/stats             POST /mock/reset        (control paths: not counted, no API key needed)
 */
const GENERATION: Record<string, Prepare> = {
  '/chat/completions': prepareChat,
  '/completions': prepareCompletion,
  '/embeddings': prepareEmbeddings,
};

/** What each server writes as `owned_by` in its model listing (how a gateway's probe tells them apart). */
const OWNED_BY: Record<string, string> = {
  deepseek: 'deepseek',
  vllm: 'vllm',
  sglang: 'sglang',
  ollama: 'library',
  openai: 'openai',
  none: 'spillway-mock',
};

export function createHandler(ctx: MockContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.on('error', () => {}); // a client reset mid-request is normal here; 'close' handles it
    const q = req.url?.indexOf('?') ?? -1;
    const path = q < 0 ? (req.url ?? '/') : (req.url ?? '/').slice(0, q);
    if (path.startsWith('/mock/')) return control(ctx, path, req, res);
    if (ctx.outage === 'hang') return hang(ctx, req, res, path);
    if (path === '/metrics' && req.method === 'GET' && servesEngineMetrics(ctx)) return engineMetrics(ctx, res);
    void readJsonBody(req).then((read) => {
      if (read.kind === 'gone') return;
      const body = read.kind === 'json' ? read.value : undefined;
      const id = ++ctx.nextId;
      ctx.stats.received(path, req.headers, body);
      ctx.events.emit('request', { id, method: req.method, path, headers: req.headers, body });
      const key = bearerKey(req.headers);
      const x: Exchange = { id, req, res, path, body: isObject(body) ? body : {}, keyLabel: keyLabel(key) };
      if (read.kind === 'too_large') return refuse(ctx, x, 'bad_request', { status: 413 });
      if (read.kind === 'invalid') return refuse(ctx, x, 'bad_request', { status: 400, message: read.message });
      route(ctx, x, req.method ?? 'GET', key, read.kind === 'json' && !isObject(body));
    });
  };
}

function route(ctx: MockContext, x: Exchange, method: string, key: string | undefined, notObject: boolean): void {
  // DeepSeek's beta base path exists only on a DeepSeek-kind simulator (its features: mock/continuation.ts).
  const beta = ctx.opts.kind === 'deepseek' && x.path.startsWith('/beta/');
  const api = beta ? x.path.slice(5) : x.path.startsWith('/v1/') ? x.path.slice(3) : x.path;
  const messages = isMessagesPath(x.path);
  // Each path exists only where the simulated server serves its API (`api` option).
  const served = messages ? ctx.opts.api !== 'openai' : ctx.opts.api !== 'anthropic';
  const prepare = !served
    ? undefined
    : messages
      ? prepareMessages
      : api === '/responses'
        ? ctx.opts.responses
          ? prepareResponses
          : undefined
        : GENERATION[api];
  const known = prepare !== undefined || (served && api === '/models');
  if (!known) return refuse(ctx, x, 'not_found', { status: 404, message: `Unknown path ${x.path}` });
  if (method !== (prepare === undefined ? 'GET' : 'POST')) {
    return refuse(ctx, x, 'method_not_allowed', { status: 405, message: `${method} is not allowed on ${x.path}` });
  }
  if (ctx.opts.apiKeys !== undefined && (key === undefined || !ctx.opts.apiKeys.has(key))) {
    return refuse(ctx, x, 'unauthorized', { status: 401 });
  }
  if (key !== undefined && ctx.opts.unpaidKeys?.has(key) === true)
    return refuse(ctx, x, 'insufficient_balance', { status: 402 });
  if (prepare === undefined) return models(ctx, x);
  if (notObject)
    return refuse(ctx, x, 'bad_request', { status: 400, message: 'the request body must be a JSON object' });
  const refusal = ctx.opts.kind === 'deepseek' && !messages ? deepseekRefusal(api, x.body, beta) : undefined;
  if (refusal !== undefined) return refuse(ctx, x, 'bad_request', refusal);
  serveGeneration(ctx, x, prepare);
}

function models(ctx: MockContext, x: Exchange): void {
  const body = JSON.stringify({
    object: 'list',
    data: [
      { id: ctx.opts.model, object: 'model', created: 1_700_000_000, owned_by: OWNED_BY[ctx.opts.kind ?? 'none'] },
    ],
  });
  x.res.writeHead(200, {
    ...ctx.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  x.res.end(body);
  ctx.stats.completed();
  ctx.events.emit('completed', { id: x.id, path: x.path });
}

function control(ctx: MockContext, path: string, req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const json = (status: number, value: unknown): void => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (path === '/mock/stats' && req.method === 'GET') return json(200, ctx.stats.snapshot());
  if (path === '/mock/reset' && req.method === 'POST') {
    ctx.stats.reset();
    return json(200, { ok: true });
  }
  sendError(res, { status: 404, message: `Unknown control path ${path}` });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
