import type { RequestShape } from '../upstream/timeout-learner.ts';
import { SpillwayError } from '../errors.ts';
import type { Call, Endpoint } from '../server/context.ts';
import { parseClientJsonObject } from './parse-json.ts';

/** The body field each endpoint cannot do without, besides `model`. */
const REQUIRED: Record<Exclude<Endpoint, 'models'>, string> = {
  chat: 'messages',
  completions: 'prompt',
  embeddings: 'input',
};

/**
 * Body bytes → a typed Call. Only what the gateway needs is checked (model, the endpoint's main field, stream);
 * everything else (tools, response_format, DeepSeek's thinking parameters, user, …) passes through untouched.
 */
export function parseCall(endpoint: Exclude<Endpoint, 'models'>, raw: Buffer): Call {
  const b = parseClientJsonObject(raw, 'The request body');
  if (typeof b.model !== 'string' || b.model === '') {
    throw new SpillwayError('invalid_request', 'You must provide a model parameter.', { param: 'model' });
  }
  const field = REQUIRED[endpoint];
  const main = b[field];
  if (main === undefined || main === null || (endpoint === 'chat' && (!Array.isArray(main) || main.length === 0))) {
    throw new SpillwayError(
      'invalid_request',
      endpoint === 'chat' ? "'messages' must be a non-empty array." : `Missing required parameter: '${field}'.`,
      { param: field },
    );
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    throw new SpillwayError('invalid_request', "'stream' must be a boolean.", { param: 'stream' });
  }
  return { endpoint, model: b.model, stream: b.stream === true, body: b, raw };
}

/** The answer's length limit a request set (`max_completion_tokens`, else `max_tokens`), if any. */
export function maxTokensOf(body: Readonly<Record<string, unknown>>): number | undefined {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/**
 * The request offers the model tools it may call (`tools`, or the legacy `functions`, not switched off by
 * `tool_choice: "none"`): its stream may then fall silent while the engine writes a call whole before sending it.
 */
export function offersTools(body: Readonly<Record<string, unknown>>): boolean {
  const tools = body.tools ?? body.functions;
  return Array.isArray(tools) && tools.length > 0 && body.tool_choice !== 'none' && body.function_call !== 'none';
}

/** Fields by which a request has a grammar constrain its output (vLLM's and SGLang's extensions). */
const GRAMMAR_FIELDS = [
  'guided_json',
  'guided_regex',
  'guided_choice',
  'guided_grammar',
  'structured_outputs',
  'regex',
  'ebnf',
];

/**
 * Whether a grammar constrains the request's output: `response_format` other than text (JSON mode, a JSON schema), or
 * a grammar field of vLLM or SGLang. Such answers have their own times (timeout-learner.ts `RequestShape`).
 */
export function requestShape(body: Readonly<Record<string, unknown>>): RequestShape {
  const format = body.response_format;
  const type = format !== null && typeof format === 'object' ? (format as { type?: unknown }).type : undefined;
  if (type !== undefined && type !== 'text') return 'structured';
  return GRAMMAR_FIELDS.some((f) => body[f] !== undefined && body[f] !== null) ? 'structured' : 'plain';
}
