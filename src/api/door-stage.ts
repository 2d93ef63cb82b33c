import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Config } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Stage } from '../pipeline.ts';
import type { Call, RequestContext } from '../server/context.ts';
import { estimateTokens } from '../admission/estimate-tokens.ts';
import { messagesToChat } from './anthropic/messages-request.ts';
import { MessagesTranslator } from './anthropic/messages-translator.ts';
import { passthroughStandIn, servedOnlyByMessages } from './anthropic/native-only.ts';
import { parseClientJsonObject } from './parse-json.ts';
import { TranslatingResponse } from './translating-response.ts';
import { responsesToChat } from './responses/responses-request.ts';
import { ResponsesTranslator } from './responses/responses-translator.ts';
import { nativeResponsesBody } from './responses/responses-native.ts';
import type { ResponseStore } from './responses/response-store.ts';

/**
 * The api stage of the other doors (parse serves OpenAI's routes), after authentication so a stored response is
 * looked up as the tenant's own: a Messages or Responses request becomes the chat-completions Call every later stage
 * runs unchanged, and the response the pipeline writes into becomes a TranslatingResponse that answers in the door's
 * protocol. So admission, queue, retries, pushback, continuation, cache and coalescing apply to these doors as they
 * are; the cache even shares answers between doors (its key is the chat body) — except a Messages request that may
 * be passed through to a Messages upstream, which is cached in Messages form under its own body (cache-request.ts). Two answers need no upstream and are
 * given here: `count_tokens` (an estimate: the gateway has no tokenizer of the upstream's model) and a stored
 * response (`GET /v1/responses/{id}`, only to the tenant that created it).
 */
export function doorStage(config: Config, responses: ResponseStore): Stage<RequestContext> {
  return {
    name: 'door',
    async run(ctx, next) {
      if (ctx.door === undefined) return next();
      const prefer = ctx.req.headers.prefer;
      // An async job runs and stores the chat call; its result would come back in chat-completions shape.
      if (typeof prefer === 'string' && /respond-async/i.test(prefer)) {
        throw new SpillwayError(
          'unsupported_endpoint',
          'Async requests (Prefer: respond-async) are served on /v1/chat/completions, /v1/completions and /v1/embeddings only.',
        );
      }
      switch (ctx.door) {
        case 'anthropic': {
          const asked = jsonObject(ctx.body);
          const res = new TranslatingResponse(ctx.res, new MessagesTranslator());
          // Translated for the stages that read a chat body and for OpenAI-only upstreams; kept as it is for the
          // upstreams that serve the Messages API (an attempt there passes it through: retry/dispatch-stage.ts).
          ctx.call = {
            ...chatCall(translateOrStandIn(config, asked)),
            native: {
              api: 'anthropic',
              body: asked,
              headers: messagesHeaders(ctx.req.headers),
              passThrough: (on) => res.passThrough(on),
              door: (under) => {
                const own = new TranslatingResponse(under, new MessagesTranslator());
                return { res: own as unknown as ServerResponse, passThrough: (on) => own.passThrough(on) };
              },
            },
          };
          ctx.res = res as unknown as ServerResponse;
          break;
        }
        case 'anthropic_count': {
          const call = chatCall(messagesToChat(jsonObject(ctx.body), true));
          ctx.call = call;
          if (
            !Object.hasOwn(config.models, call.model) ||
            (ctx.allowedModels !== null && !ctx.allowedModels.includes(call.model))
          ) {
            throw new SpillwayError('model_not_found', `The model '${call.model}' does not exist.`, { param: 'model' });
          }
          const tools = call.body.tools === undefined ? 0 : Math.ceil(JSON.stringify(call.body.tools).length / 4);
          return answer(ctx, {
            input_tokens: estimateTokens({ messages: call.body.messages, max_tokens: 1 }) - 1 + tools,
          });
        }
        case 'responses': {
          const asked = jsonObject(ctx.body);
          const tenant = ctx.tenant;
          const previousId = asked.previous_response_id;
          const previous = typeof previousId === 'string' ? await responses.get(previousId, tenant) : undefined;
          const turn = responsesToChat(asked, (id) => (id === previousId ? previous : undefined));
          // Stored as the answer completes, before its last event is written (a SQLite put is on disk by then).
          const translator = (save: boolean): ResponsesTranslator =>
            new ResponsesTranslator(asked, turn, save ? (r) => void responses.put(r, tenant) : () => {});
          const res = new TranslatingResponse(ctx.res, translator(true));
          // Translated for OpenAI-only upstreams; passed through, stateless, to one that serves the Responses API
          // (responses-native.ts): Spillway's store keeps the conversation either way.
          ctx.call = {
            ...chatCall(turn.chat),
            native: {
              api: 'responses',
              body: nativeResponsesBody(asked, previous),
              headers: {},
              passThrough: (on) => res.passThrough(on),
              // A cache flight's own door: what it records is a Responses answer; the client's own door stores it.
              door: (under) => {
                const own = new TranslatingResponse(under, translator(false));
                return { res: own as unknown as ServerResponse, passThrough: (on) => own.passThrough(on) };
              },
            },
          };
          ctx.res = res as unknown as ServerResponse;
          break;
        }
        case 'responses_get': {
          const path = (ctx.req.url ?? '').split('?')[0] ?? '';
          const id = path.slice(path.lastIndexOf('/') + 1);
          const stored = await responses.get(id, ctx.tenant);
          if (stored === undefined)
            throw new SpillwayError(
              'response_not_found',
              `No stored response with id '${id}' (it was not stored, belongs to another key, or has left the store).`,
            );
          return answer(ctx, stored.response);
        }
        default:
          break;
      }
      await next();
    },
  };
}

/**
 * A Messages request's chat translation; for a model served only by Messages upstreams, a request the translation
 * refuses is still taken (it will be passed through as it is: native-only.ts), with a stand-in for the chat body.
 */
function translateOrStandIn(config: Config, asked: Record<string, unknown>): Record<string, unknown> {
  try {
    return messagesToChat(asked);
  } catch (err) {
    const standIn =
      err instanceof SpillwayError && servedOnlyByMessages(config, asked.model) ? passthroughStandIn(asked) : undefined;
    if (standIn === undefined) throw err;
    return standIn;
  }
}

/** The Messages API version a passed-through request states: the client's, else the one every SDK sends today. */
const ANTHROPIC_VERSION = '2023-06-01';

/** The client's headers a Messages upstream reads, bounded (hostile until authenticated: no header grows state). */
function messagesHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
  for (const name of ['anthropic-version', 'anthropic-beta'] as const) {
    const v = h[name];
    if (typeof v === 'string' && v !== '' && v.length <= 1024) out[name] = v;
  }
  return out;
}

function answer(ctx: RequestContext, body: unknown): void {
  const text = JSON.stringify(body);
  ctx.settled = true;
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function jsonObject(raw: Buffer | undefined): Record<string, unknown> {
  return parseClientJsonObject(raw ?? Buffer.alloc(0), 'The request body');
}

/** A translated chat body as the Call the pipeline runs; its bytes are what an upstream gets when nothing renames it. */
function chatCall(chat: Record<string, unknown>): Call {
  return {
    endpoint: 'chat',
    model: chat.model as string,
    stream: chat.stream === true,
    body: chat,
    raw: Buffer.from(JSON.stringify(chat), 'utf8'),
  };
}
