/**
 * What a passed-through Messages stream has told the client so far (the Messages twin of StreamText), kept only
 * for requests whose stream could be continued: the text of its text blocks, how many content deltas, which block
 * is open, and whether the answer can be continued at all. Only an answer made of text blocks can be: a cut inside
 * (or after) a thinking or tool_use block cannot, since a prefill holds text and the continuation would repeat or
 * garble what the client has.
 */
export class MessagesText {
  /** The answer's text so far: every text block's text, in order. */
  text = '';
  /** Content deltas relayed: the tokens the answer has spent, as near as the gateway can count them. */
  events = 0;
  /** The index the next new block takes on the client's stream. */
  nextIndex = 0;
  /** The client's block now open (started, not stopped), if any. */
  open: number | undefined;
  /** `message_delta` reached the client: the answer is whole, only `message_stop` may be missing. */
  finished = false;
  continuable = true;

  /** Records one event as it went to the client: its type and its parsed data (undefined when it did not parse). */
  record(type: string, data: Record<string, unknown> | undefined): void {
    if (type === 'ping' || type === 'message_start' || type === 'message_stop') return;
    if (data === undefined) {
      this.continuable = false;
      return;
    }
    const index = typeof data.index === 'number' ? data.index : undefined;
    switch (type) {
      case 'content_block_start': {
        const block = data.content_block as { type?: unknown; text?: unknown } | undefined;
        if (block?.type !== 'text' || index === undefined) this.continuable = false;
        if (typeof block?.text === 'string') this.text += block.text;
        this.open = index;
        if (index !== undefined) this.nextIndex = Math.max(this.nextIndex, index + 1);
        return;
      }
      case 'content_block_delta': {
        const delta = data.delta as { type?: unknown; text?: unknown } | undefined;
        if (delta?.type !== 'text_delta' || typeof delta.text !== 'string') {
          this.continuable = false;
          return;
        }
        this.text += delta.text;
        this.events++;
        return;
      }
      case 'content_block_stop':
        this.open = undefined;
        return;
      case 'message_delta':
        this.finished = true;
        return;
      default:
        // An event this gateway does not know may carry content it cannot put in a prefill.
        this.continuable = false;
    }
  }

  /**
   * The events that end an answer cut after its last allowed token (or after its `message_delta`): the open block
   * closed, the stop reason the upstream would have sent, then `message_stop`.
   */
  closing(): string {
    let out = '';
    if (this.open !== undefined) out += event('content_block_stop', { index: this.open });
    if (!this.finished)
      out += event('message_delta', {
        delta: { stop_reason: 'max_tokens', stop_sequence: null },
        usage: { output_tokens: this.events },
      });
    return out + event('message_stop', {});
  }
}

/** One Messages SSE event, as the Messages API writes them. */
export function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}
