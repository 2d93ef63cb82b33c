/**
 * Splits an SSE byte stream into complete events. Only whole events are ever forwarded, so when an upstream dies
 * mid-event the client never sees half a line glued to the gateway's error event.
 */
export class SseEventSplitter {
  private pending = '';

  /** Feeds decoded text; returns the complete events (each ending in a blank line), or '' when none is complete. */
  push(text: string): string {
    let t = this.pending + (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
    const end = t.lastIndexOf('\n\n');
    if (end < 0) {
      this.pending = t;
      return '';
    }
    this.pending = t.slice(end + 2);
    t = t.slice(0, end + 2);
    return t;
  }

  /** What is left: an incomplete event when the stream ended. */
  rest(): string {
    return this.pending;
  }
}

export interface EventInfo {
  /** A `data:` event (comments such as `: keep-alive` are not). */
  data: boolean;
  done: boolean;
  error: boolean;
}

/** The payload of one `data:` line (one optional space after the colon is not part of it, per the SSE spec). */
function payload(line: string): string {
  return line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
}

/** The payload of an event's first `data:` line, if it has one. */
export function dataOf(event: string): string | undefined {
  // The usual event is one `data:` line: no split.
  if (!event.includes('\n')) return event.startsWith('data:') ? payload(event) : undefined;
  const line = event.split('\n').find((l) => l.startsWith('data:'));
  return line === undefined ? undefined : payload(line);
}

/** Classifies one event (text without its trailing blank line). */
export function eventInfo(event: string): EventInfo {
  // The usual event is one line: classified without splitting it.
  if (!event.includes('\n')) {
    if (!event.startsWith('data:')) return { data: false, done: false, error: false };
    const v = payload(event);
    return { data: true, done: v === '[DONE]', error: v !== '[DONE]' && isErrorPayload(v) };
  }
  let data = false;
  let done = false;
  let error = false;
  for (const line of event.split('\n')) {
    if (!line.startsWith('data:')) continue;
    data = true;
    const v = payload(line);
    if (v === '[DONE]') done = true;
    else if (isErrorPayload(v)) error = true;
  }
  return { data, done, error };
}

function isErrorPayload(v: string): boolean {
  return v.startsWith('{"error"') || (v.includes('"error"') && isErrorObject(v));
}

function isErrorObject(v: string): boolean {
  try {
    const j = JSON.parse(v) as Record<string, unknown>;
    return j !== null && typeof j === 'object' && 'error' in j && !('choices' in j);
  } catch {
    return false;
  }
}
