import { promptText, estimateTokens } from './answer-text.ts';
import { fnv1a } from './hash.ts';

/** Prefixes remembered before the cache starts over: bounds the simulator's memory under any load. */
const MAX_PREFIXES = 10_000;

/**
 * DeepSeek's context cache, as a `deepseek` simulator shows it in `usage.prompt_cache_hit_tokens` /
 * `prompt_cache_miss_tokens`: the part of a chat prompt that repeats, from its start, the prompt of an earlier
 * answered request is a hit. Simplified to whole messages (DeepSeek caches in token blocks); enough for a gateway's
 * accounting, metrics and a test to see hits and misses add up to the prompt. Prefixes are recorded when an answer
 * starts, so a refused request warms nothing.
 */
export class PromptCache {
  private readonly seen = new Set<number>();

  /** Hit tokens of `messages` (then remembered), out of the whole prompt's estimate. */
  answer(messages: readonly unknown[]): { hit: number; miss: number } {
    const prompt = estimateTokens(promptText({ messages }));
    let hit = 0;
    const keys: number[] = [];
    for (let k = 1; k <= messages.length; k++) {
      const text = promptText({ messages: messages.slice(0, k) });
      const key = fnv1a(text, k);
      keys.push(key);
      if (this.seen.has(key)) hit = Math.min(prompt, estimateTokens(text));
    }
    if (this.seen.size + keys.length > MAX_PREFIXES) this.seen.clear();
    for (const key of keys) this.seen.add(key);
    return { hit, miss: prompt - hit };
  }
}
