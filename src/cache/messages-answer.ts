import { SseEventSplitter, dataOf } from '../relay/sse-events.ts';
import { event } from '../relay/messages-text.ts';
import type { Answer } from './landed-answer.ts';

/**
 * The answer cache's Messages form, for the Messages door's requests that may be passed through to a Messages
 * upstream (their answers are Messages answers; the chat form could not hold their thinking signatures, server
 * tool blocks or cache token counts). The twin of landed-answer.ts, assemble-stream.ts and replay-stream.ts:
 *
 *   Messages stream ─ MessageAssembler ─▶ Messages JSON (stored) ─ replayMessageStream ─▶ Messages stream
 *
 * Hand-written for the same reason as the chat assembler: the SDKs' own accumulators are client-side helpers.
 */
type Json = Record<string, unknown>;

/** Stored only when whole: a message with content and a stop reason (a cut stream has none). */
export function isCompleteMessage(a: unknown): a is Json {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return false;
  const m = a as Json;
  return m.type === 'message' && Array.isArray(m.content) && typeof m.stop_reason === 'string' && m.stop_reason !== '';
}

/** The complete Messages answer a flight brought back, as JSON text, or undefined when there is none to keep. */
export function landedMessage(status: number, body: string, stream: boolean): Answer | undefined {
  if (status !== 200) return undefined;
  let answer: unknown;
  if (stream) {
    const asm = new MessageAssembler();
    for (const ev of new SseEventSplitter().push(body).split('\n\n')) {
      const data = ev === '' ? undefined : dataOf(ev);
      if (data !== undefined && !asm.add(data)) return undefined;
    }
    answer = asm.answer();
  } else {
    try {
      answer = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!isCompleteMessage(answer)) return undefined;
  return { body: stream ? JSON.stringify(answer) : body, usage: typeof answer.usage === 'object' };
}

interface Block {
  block: Json;
  /** A tool_use block's input, as the pieces of JSON text it was streamed in. */
  json: string | undefined;
}

/** A Messages stream, event by event, assembled into the message a non-stream request would have received. */
class MessageAssembler {
  private message: Json | undefined;
  private readonly blocks = new Map<number, Block>();
  private stopped = false;

  /** One event's data; false when the stream is not one to keep (an error event, or data it cannot read). */
  add(data: string): boolean {
    let e: Json;
    try {
      e = JSON.parse(data) as Json;
    } catch {
      return false;
    }
    if (e === null || typeof e !== 'object') return false;
    const index = typeof e.index === 'number' ? e.index : -1;
    switch (e.type) {
      case 'message_start':
        this.message = { ...(e.message as Json) };
        return typeof e.message === 'object' && e.message !== null;
      case 'content_block_start': {
        const block = e.content_block as Json | undefined;
        if (block === undefined || index < 0) return false;
        this.blocks.set(index, { block: { ...block }, json: block.type === 'tool_use' ? '' : undefined });
        return true;
      }
      case 'content_block_delta':
        return this.delta(this.blocks.get(index), e.delta as Json | undefined);
      case 'message_delta': {
        if (this.message === undefined) return false;
        Object.assign(this.message, e.delta);
        this.message.usage = { ...(this.message.usage as Json | undefined), ...(e.usage as Json | undefined) };
        return true;
      }
      case 'message_stop':
        this.stopped = true;
        return true;
      case 'error':
        return false;
      default:
        return true; // ping, content_block_stop, and events that carry nothing to keep
    }
  }

  private delta(b: Block | undefined, d: Json | undefined): boolean {
    if (b === undefined || d === undefined) return false;
    const block = b.block;
    const add = (field: string, piece: unknown): boolean => {
      if (typeof piece !== 'string') return false;
      block[field] = (typeof block[field] === 'string' ? block[field] : '') + piece;
      return true;
    };
    switch (d.type) {
      case 'text_delta':
        return add('text', d.text);
      case 'thinking_delta':
        return add('thinking', d.thinking);
      case 'signature_delta':
        return add('signature', d.signature);
      case 'input_json_delta':
        if (typeof d.partial_json !== 'string' || b.json === undefined) return false;
        b.json += d.partial_json;
        return true;
      case 'citations_delta':
        block.citations = [...(Array.isArray(block.citations) ? (block.citations as unknown[]) : []), d.citation];
        return true;
      default:
        return false; // a delta this gateway does not know: the answer could not be replayed whole
    }
  }

  /** The whole message, or undefined when the stream did not end with message_stop or a tool input is not JSON. */
  answer(): Json | undefined {
    if (this.message === undefined || !this.stopped) return undefined;
    const content: Json[] = [];
    for (const [, b] of [...this.blocks].sort(([a], [z]) => a - z)) {
      if (b.json !== undefined) {
        try {
          b.block.input = b.json === '' ? {} : (JSON.parse(b.json) as unknown);
        } catch {
          return undefined;
        }
      }
      content.push(b.block);
    }
    return { ...this.message, content };
  }
}

/**
 * A stored Messages answer replayed as the stream the Messages API sends: message_start (no content yet), each
 * block started empty and given whole in one delta, message_delta with the stop reason and usage, message_stop.
 * A block the API streams whole (a server tool's, a redacted thinking) comes whole in its start.
 */
export function replayMessageStream(answer: Json): string {
  const usage = (answer.usage ?? {}) as Json;
  let out = event('message_start', {
    message: { ...answer, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  const content = Array.isArray(answer.content) ? (answer.content as Json[]) : [];
  content.forEach((block, index) => {
    const delta = blockDelta(block);
    out += event('content_block_start', { index, content_block: delta === undefined ? block : delta.start });
    for (const d of delta?.deltas ?? []) out += event('content_block_delta', { index, delta: d });
    out += event('content_block_stop', { index });
  });
  out += event('message_delta', {
    delta: { stop_reason: answer.stop_reason, stop_sequence: answer.stop_sequence ?? null },
    usage: { output_tokens: usage.output_tokens ?? 0 },
  });
  return out + event('message_stop', {});
}

/** A block as an empty start and the deltas that fill it; undefined for one sent whole in its start. */
function blockDelta(block: Json): { start: Json; deltas: Json[] } | undefined {
  switch (block.type) {
    case 'text': {
      const { citations, ...rest } = block;
      const deltas: Json[] = [{ type: 'text_delta', text: block.text }];
      if (Array.isArray(citations))
        for (const citation of citations) deltas.push({ type: 'citations_delta', citation });
      return { start: { ...rest, text: '' }, deltas };
    }
    case 'thinking':
      return {
        start: { ...block, thinking: '', signature: '' },
        deltas: [
          { type: 'thinking_delta', thinking: block.thinking },
          { type: 'signature_delta', signature: block.signature },
        ],
      };
    case 'tool_use':
      return {
        start: { ...block, input: {} },
        deltas: [{ type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) }],
      };
    default:
      return undefined;
  }
}
