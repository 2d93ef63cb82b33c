/**
 * Tokens a request will cost, estimated before it runs so token limits can be enforced at the door: the prompt at
 * about four bytes of UTF-8 a token plus the answer's `max_tokens` (or a default when the client sets none). The
 * estimate is corrected from the real `usage` when the answer is done.
 *
 * Bytes, not characters: an English word is about four characters a token in every BPE tokenizer, but a Chinese
 * character is 0.6 of a token by DeepSeek's own rule of thumb and 0.7–1 in OpenAI's, and Cyrillic or Greek about
 * half a token. At four characters a token a Chinese prompt was counted at a third or less of its size (token limits
 * let three times their rate through; a long prompt's prefill went unseen by the timeouts and the estimators). UTF-8
 * spends three bytes on a CJK character, two on Cyrillic, one on ASCII: a quarter of its bytes lands on 0.75, 0.5
 * and 0.25 tokens, close to every tokenizer's counts, with no tokenizer and one native length call per string.
 *
 * The prompt is everything the model reads: message text (plain or in parts), tool calls' arguments, the `tools`
 * (and legacy `functions`) definitions and a `response_format` schema, images, and prompts given as token ids
 * (`[1, 2, 3]` or `[[1, 2], [3]]`: one token each). A client must not fit a large request under a token limit by
 * choosing one of these shapes.
 */
export const DEFAULT_COMPLETION_ESTIMATE = 1024;

/**
 * One image, as OpenAI counts it: 85 tokens at `detail: "low"`; at high/auto detail 85 + 170 per 512 px tile,
 * 765 for the common 1024×1024 (the size is not known without decoding the image, so that is what is assumed).
 */
export const IMAGE_TOKENS = { low: 85, high: 765 } as const;

/** Keys whose string values are not prompt text: an image's URL or data (counted per image) and a part's tag. */
const NOT_TEXT = new Set(['type', 'role', 'image_url', 'url', 'detail', 'input_audio', 'data', 'file_data', 'id']);

export function estimateTokens(body: Record<string, unknown>): number {
  const max = body.max_completion_tokens ?? body.max_tokens;
  const completion =
    typeof max === 'number' && max > 0 ? max : body.input !== undefined ? 0 : DEFAULT_COMPLETION_ESTIMATE;
  return promptTokensOf(body) + completion;
}

/** The prompt's part of `estimateTokens`: what the model reads before its first token (its prefill). */
function estimatePromptTokens(body: Record<string, unknown>): number {
  let bytes = 0;
  let tokens = 0;
  // Iterative walk with an explicit stack: a hostile body must not be able to overflow the call stack here.
  const stack: unknown[] = [body.messages, body.prompt, body.input];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += Buffer.byteLength(v, 'utf8');
    else if (typeof v === 'number')
      tokens += 1; // a token id
    else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (isImagePart(o)) {
        tokens += imageDetail(o) === 'low' ? IMAGE_TOKENS.low : IMAGE_TOKENS.high;
        continue;
      }
      for (const [k, x] of Object.entries(o)) if (!NOT_TEXT.has(k) && typeof x !== 'number') stack.push(x);
    }
  }
  for (const k of ['tools', 'functions', 'response_format'] as const) {
    // Definitions reach the model as text: their JSON length is a fair stand-in (depth is bounded at parse).
    if (body[k] !== undefined && body[k] !== null) bytes += Buffer.byteLength(JSON.stringify(body[k]), 'utf8');
  }
  return Math.ceil(bytes / 4) + tokens;
}

function isImagePart(o: Record<string, unknown>): boolean {
  return o.type === 'image_url' || o.type === 'input_image' || o.type === 'image';
}

function imageDetail(o: Record<string, unknown>): unknown {
  const inner = o.image_url;
  return inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>).detail : o.detail;
}

const promptMemo = new WeakMap<Record<string, unknown>, number>();

/**
 * `estimatePromptTokens`, walked once per request body: the rate limits, the account gate, and every attempt's
 * timeouts and samples ask for it.
 */
export function promptTokensOf(body: Record<string, unknown>): number {
  let n = promptMemo.get(body);
  if (n === undefined) {
    n = estimatePromptTokens(body);
    promptMemo.set(body, n);
  }
  return n;
}
