/**
 * What a stream has told the client so far, kept only for models with mid-stream recovery: the completion id, the
 * content text, how many content events, and whether the answer can be continued at all (a cut inside reasoning or
 * a tool call cannot be: the continuation would repeat or garble what the client has).
 */
export class StreamText {
  id: string | undefined;
  text = '';
  events = 0;
  continuable = true;

  /** Records one data event's JSON (not [DONE], not an error). */
  record(json: string): void {
    let j: {
      id?: unknown;
      choices?: { delta?: { content?: unknown; reasoning_content?: unknown; tool_calls?: unknown } }[];
    };
    try {
      j = JSON.parse(json) as typeof j;
    } catch {
      this.continuable = false;
      return;
    }
    if (this.id === undefined && typeof j.id === 'string') this.id = j.id;
    const d = j.choices?.[0]?.delta;
    if (d === undefined) return;
    if (d.tool_calls !== undefined && d.tool_calls !== null) this.continuable = false;
    if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '') this.continuable = false;
    if (typeof d.content === 'string' && d.content !== '') {
      this.text += d.content;
      this.events++;
    }
  }
}
