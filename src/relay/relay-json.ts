import type { RequestContext } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import type { Usage } from '../server/context.ts';
import { leadingBlankBytes } from './answer-check.ts';

/** Largest non-stream answer relayed (bytes); beyond it the upstream is misbehaving. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * A non-stream answer is read whole before anything reaches the client, so any failure can still become a clean
 * HTTP error, a retry or a lost hedge, and the answer can be checked (answer-check.ts) before its 200 is sent. Blank
 * lines an upstream sends while busy keep the connection alive but are not a first token: they are counted as
 * keep-alives (a first-token timeout after them is a queueing upstream) and never reach the client.
 */
export async function readAnswer(att: OpenAttempt): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let started = false;
  const body = att.body;
  for (;;) {
    let chunk: Buffer | null;
    try {
      chunk = await body.read();
    } catch (err) {
      throw att.error(err);
    }
    if (chunk === null) return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    att.timer.activity();
    if (!started) {
      if (leadingBlankBytes(chunk) === chunk.length) att.timer.keepAlive();
      else {
        started = true;
        att.timer.firstToken();
      }
    }
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) throw att.error(new Error(`upstream answer larger than ${MAX_ANSWER_BYTES} bytes`));
    chunks.push(chunk);
  }
}

/**
 * Writes a checked answer with its exact bytes (only `model` renamed in place when the names differ, and without
 * the blank lines that came before it).
 */
export function writeAnswer(
  ctx: RequestContext,
  att: OpenAttempt,
  answer: Buffer,
  usage: Usage | undefined,
  rewrite: ((t: string) => string) | undefined,
): void {
  ctx.usage = usage;
  const body = rewrite === undefined ? answer : Buffer.from(rewrite(answer.toString('utf8')), 'utf8');
  const res = ctx.res;
  res.statusCode = att.status;
  res.setHeader('content-type', att.headers['content-type'] ?? 'application/json');
  res.setHeader('content-length', body.length);
  ctx.settled = true;
  res.end(body);
}
