import { fnv1a, mix32 } from './hash.ts';

/**
 * The simulator's answers. They are deterministic — a pure function of (seed, prompt, maxTokens) — and every token
 * carries its own index ("t0-kilo ", "t1-alpha ", …), so a client (or a gateway test that resumes a cut stream)
 * can recompute the expected answer and check it received every token, once, in order.
 */

// Short, distinct, JSON-safe words: tokens never need escaping, which lets the non-stream path splice them
// straight into a pre-serialised body.
const WORDS = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
  'mike',
  'november',
  'oscar',
  'papa',
  'quebec',
  'romeo',
  'sierra',
  'tango',
  'uniform',
  'victor',
  'whiskey',
  'xray',
  'yankee',
  'zulu',
] as const;

/** Every token but the last ends in a space; joined they read as one line of words. */
export function answerTokens(seed: number, prompt: string, maxTokens: number): string[] {
  const base = fnv1a(prompt, seed);
  const tokens = new Array<string>(maxTokens);
  for (let i = 0; i < maxTokens; i++) {
    const word = WORDS[mix32(base, i) % WORDS.length] ?? 'alpha';
    tokens[i] = i === maxTokens - 1 ? `t${i}-${word}` : `t${i}-${word} `;
  }
  return tokens;
}

export function answerText(seed: number, prompt: string, maxTokens: number): string {
  return answerTokens(seed, prompt, maxTokens).join('');
}

/**
 * The text an answer is derived from: for chat, every message's content (string contents and `text` parts) joined
 * with "\n" (a separator, so ["ab","c"] and ["a","bc"] differ); for completions, `prompt` (arrays joined with
 * "\n"); for embeddings, `input`. Anything else gives "".
 */
export function promptText(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.messages)) {
    const parts: string[] = [];
    for (const m of b.messages) {
      if (typeof m === 'object' && m !== null) parts.push(contentText((m as Record<string, unknown>).content));
    }
    return parts.join('\n');
  }
  if (b.prompt !== undefined) return inputText(b.prompt);
  if (b.input !== undefined) return inputText(b.input);
  return '';
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string') {
      text += (part as { text: string }).text;
    }
  }
  return text;
}

/** Strings as-is, string arrays joined; token arrays (numbers) by their JSON so they still hash distinctly. */
export function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (Array.isArray(input) && input.every((x) => typeof x === 'string')) return input.join('\n');
  return JSON.stringify(input) ?? '';
}

/** A deterministic stand-in for a tokenizer: about four characters per token, at least one. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
