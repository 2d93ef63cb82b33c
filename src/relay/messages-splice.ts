import { event, type MessagesText } from './messages-text.ts';

/**
 * A continuation's Messages stream spliced into the one the client is reading, so the client sees ONE message:
 *
 *   client so far:  message_start · block 0 (text) · block 1 (text, open, cut) ┐
 *   continuation:   message_start · ping · block 0 (text) · block 1 … · message_delta · message_stop
 *                   └ dropped ──────────┘  └ merged into 1 ┘ └ 2 …┘   └ passed on: the continuation's stop and usage
 *
 * The continuation's `message_start` and `ping` are dropped (the client has its message). Its first text block
 * continues the block that was cut: its start is dropped and its deltas and stop take that block's index; its other
 * blocks take the indexes after the client's last one. A thinking block the continuation opens is its reasoning
 * about how to go on, not part of the answer begun: left out. Pure: one instance per continuation attempt, built
 * from what the client has at its start.
 */
export class MessagesSplice {
  /** The client's open text block the continuation's first text block goes on, until it does. */
  private merge: number | undefined;
  private nextIndex: number;
  /** The continuation's block index → the client's; null for a block left out. */
  private readonly indexes = new Map<number, number | null>();

  constructor(sent: MessagesText) {
    this.merge = sent.open;
    this.nextIndex = sent.nextIndex;
  }

  /**
   * One event of the continuation → the events the client gets for it ('' for none). `data` is the event's parsed
   * data (undefined when it did not parse: passed on as it is, and the tracker marks the answer not continuable).
   */
  map(type: string, ev: string, data: Record<string, unknown> | undefined): string {
    if (type === 'message_start' || type === 'ping') return '';
    if (data === undefined) return `${ev}\n\n`;
    const index = typeof data.index === 'number' ? data.index : undefined;
    switch (type) {
      case 'content_block_start':
        return index === undefined ? `${ev}\n\n` : this.start(type, index, data);
      case 'content_block_delta':
      case 'content_block_stop': {
        if (index === undefined) return `${ev}\n\n`;
        const to = this.indexes.get(index);
        return to === null ? '' : event(type, { ...data, index: to ?? index });
      }
      case 'message_delta':
        return this.closeMerge() + `${ev}\n\n`;
      default:
        return `${ev}\n\n`;
    }
  }

  private start(type: string, index: number, data: Record<string, unknown>): string {
    const kind = (data.content_block as { type?: unknown } | undefined)?.type;
    if (kind === 'thinking' || kind === 'redacted_thinking') {
      this.indexes.set(index, null);
      return '';
    }
    if (kind === 'text' && this.merge !== undefined) {
      this.indexes.set(index, this.merge);
      this.merge = undefined;
      const text = (data.content_block as { text?: unknown }).text;
      // A start that carries text (Anthropic's is always empty) has that text as the block's next delta.
      return typeof text === 'string' && text !== ''
        ? event('content_block_delta', { index: this.indexes.get(index), delta: { type: 'text_delta', text } })
        : '';
    }
    const closed = this.closeMerge();
    const to = this.nextIndex++;
    this.indexes.set(index, to);
    return closed + event(type, { ...data, index: to });
  }

  /** The client's cut block, closed when the continuation goes on with anything but its text. */
  private closeMerge(): string {
    if (this.merge === undefined) return '';
    const out = event('content_block_stop', { index: this.merge });
    this.merge = undefined;
    return out;
  }
}
