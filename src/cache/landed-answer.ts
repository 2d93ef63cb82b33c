import { SseEventSplitter, dataOf, eventInfo } from '../relay/sse-events.ts';
import { StreamAssembler, isCompleteAnswer } from './assemble-stream.ts';
import { usageInJson } from '../relay/usage.ts';

/** A complete answer in its stored form. */
export interface Answer {
  /** Non-stream JSON text. */
  body: string;
  /** It has a `usage` object. */
  usage: boolean;
}

/**
 * The complete answer a flight brought back, as non-stream JSON text, or undefined when there is none to store or
 * share: a failure, a status other than 200, a stream without `[DONE]` or with an in-band error, or an answer
 * whose choices did not all finish.
 */
export function landedAnswer(status: number, body: string, stream: boolean): Answer | undefined {
  if (status !== 200) return undefined;
  if (!stream) {
    try {
      return isCompleteAnswer(JSON.parse(body)) ? { body, usage: usageInJson(body) !== undefined } : undefined;
    } catch {
      return undefined;
    }
  }
  const events = new SseEventSplitter().push(body).split('\n\n');
  const asm = new StreamAssembler();
  let done = false;
  for (const ev of events) {
    if (ev === '') continue;
    const info = eventInfo(ev);
    if (!info.data) continue;
    if (info.error) return undefined;
    if (info.done) {
      done = true;
      break;
    }
    asm.add(dataOf(ev) ?? '');
  }
  const answer = done ? asm.answer() : undefined;
  return isCompleteAnswer(answer) ? { body: JSON.stringify(answer), usage: answer.usage !== undefined } : undefined;
}
