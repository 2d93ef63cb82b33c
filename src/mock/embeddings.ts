import { estimateTokens, inputText } from './answer-text.ts';
import { invalid, type Prepare } from './generation-request.ts';
import { fnv1a, mix32 } from './hash.ts';

/**
 * POST /v1/embeddings: one deterministic unit vector of EMBEDDING_DIMENSIONS per input, from a hash of the input
 * and the seed. `encoding_format: "base64"` (what the official OpenAI SDKs ask for by default) returns the
 * little-endian float32 bytes, base64-encoded.
 */
const EMBEDDING_DIMENSIONS = 8;

export function embeddingVector(seed: number, text: string): number[] {
  const base = fnv1a(text, seed);
  const v = Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => (mix32(base, i) / 0xffffffff) * 2 - 1);
  const norm = Math.hypot(...v) || 1;
  // Rounded to float32 so the float and base64 encodings carry the same numbers.
  return v.map((x) => Math.fround(x / norm));
}

function inputs(input: unknown): unknown[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  // A flat array of numbers is one tokenised input; anything else is a list of inputs.
  if (input.every((x) => typeof x === 'number')) return [input];
  return input.every((x) => typeof x === 'string' || Array.isArray(x)) ? input : undefined;
}

export const prepareEmbeddings: Prepare = (body, opts) => {
  const list = inputs(body.input);
  if (list === undefined) return invalid('input must be a string, an array of strings, or token arrays', 'input');
  if (body.model !== undefined && typeof body.model !== 'string') return invalid('model must be a string', 'model');
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64')
    return invalid('encoding_format must be "float" or "base64"', 'encoding_format');
  const model = body.model ?? opts.model;
  return {
    stream: false,
    build: () => {
      let tokens = 0;
      const data = list.map((item, index) => {
        const text = inputText(item);
        tokens += estimateTokens(text);
        const vector = embeddingVector(opts.seed, text);
        const embedding =
          format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      const json = JSON.stringify({
        object: 'list',
        data,
        model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
      return [{ data: json, token: false }];
    },
  };
};
