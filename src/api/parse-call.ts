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
