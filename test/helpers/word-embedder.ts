import type { TestContext } from 'node:test';
import { fixedUpstream } from './stack.ts';

/**
 * An OpenAI-compatible `/embeddings` upstream for semantic-cache tests: a bag of lowercased words hashed into 16
 * dimensions, so "What is a spillway?" and "what IS a spillway" embed identically and unrelated questions do not.
 */
export async function wordEmbedder(t: TestContext): Promise<{ url: string; hits: () => number }> {
  return fixedUpstream(t, (_req, res, body) => {
    const words =
      String((JSON.parse(body) as { input: string }).input)
        .toLowerCase()
        .match(/[a-z]+/g) ?? [];
    const v = Array.from({ length: 16 }, () => 0);
    for (const w of words) v[[...w].reduce((a, ch) => (a * 31 + ch.charCodeAt(0)) % 16, 7)]! += 1;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ object: 'list', data: [{ index: 0, embedding: v }] }));
  });
}
