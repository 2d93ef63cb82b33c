import type { StoredResponse } from './response-store.ts';

type Json = Record<string, unknown>;

/**
 * The Responses door's passthrough (an upstream that serves OpenAI's Responses API gets the request in that API):
 * Spillway keeps owning the conversation state, whichever route answers. So the request an upstream gets is
 * stateless — `previous_response_id` expanded from Spillway's store into `input` items, `store: false` (the
 * upstream keeps nothing: the state is in one place, under the gateway's retention and tenants, and a later turn may
 * land on another upstream or a translated route) — and the answer is kept in Spillway's store in the same chat form
 * a translated answer is (response-store.ts), so `GET /v1/responses/{id}` and the next `previous_response_id` work
 * across translated and passed-through turns.
 */

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The request an upstream that serves the Responses API gets: stateless, the earlier turns in its `input`. */
export function nativeResponsesBody(asked: Json, previous: StoredResponse | undefined): Json {
  const { previous_response_id: _previous, ...rest } = asked;
  const own =
    typeof asked.input === 'string'
      ? [{ type: 'message', role: 'user', content: asked.input }]
      : Array.isArray(asked.input)
        ? (asked.input as unknown[])
        : [];
  const input = previous === undefined ? asked.input : [...chatToItems(previous.messages), ...own];
  return { ...rest, input, store: false };
}

/**
 * Stored chat messages → Responses input items (the inverse of responses-request.ts's translation). Reasoning is
 * left out: OpenAI takes reasoning items back only by the ids it stored or with their encrypted content, neither of
 * which a stateless request has (the chat translation sends it as `reasoning_content` instead).
 */
export function chatToItems(messages: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      out.push({
        type: 'function_call_output',
        call_id: m.tool_call_id,
        output: typeof m.content === 'string' ? m.content : '',
      });
      continue;
    }
    const role = m.role === 'assistant' || m.role === 'system' ? m.role : 'user';
    const content = itemContent(m.content, role === 'assistant' ? 'output_text' : 'input_text');
    if (content !== undefined) out.push({ type: 'message', role, content });
    for (const c of Array.isArray(m.tool_calls) ? (m.tool_calls as unknown[]) : []) {
      if (!isObject(c) || !isObject(c.function)) continue;
      out.push({
        type: 'function_call',
        call_id: c.id,
        name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? c.function.arguments : '{}',
      });
    }
  }
  return out;
}

/** A chat message's content as an item's: text (or parts with images); undefined when it has none (a tool call turn). */
function itemContent(c: unknown, textType: 'input_text' | 'output_text'): unknown {
  if (typeof c === 'string') return textType === 'output_text' ? [{ type: 'output_text', text: c }] : c;
  if (!Array.isArray(c)) return undefined;
  return (c as unknown[])
    .filter(isObject)
    .map((p) =>
      p.type === 'image_url' && isObject(p.image_url)
        ? { type: 'input_image', image_url: p.image_url.url }
        : { type: textType, text: typeof p.text === 'string' ? p.text : '' },
    );
}

/**
 * A passed-through answer (the Responses object) as the chat assistant message the store keeps: its text, its
 * reasoning summary as `reasoning_content`, its function calls as `tool_calls` — what a translated answer keeps.
 */
export function answerMessage(r: Json): Json {
  let text = '';
  let reasoning = '';
  const calls: Json[] = [];
  for (const item of Array.isArray(r.output) ? (r.output as unknown[]) : []) {
    if (!isObject(item)) continue;
    if (item.type === 'message')
      for (const p of Array.isArray(item.content) ? (item.content as unknown[]) : []) {
        if (isObject(p)) text += typeof p.text === 'string' ? p.text : typeof p.refusal === 'string' ? p.refusal : '';
      }
    else if (item.type === 'reasoning')
      for (const s of Array.isArray(item.summary) ? (item.summary as unknown[]) : []) {
        if (isObject(s) && typeof s.text === 'string') reasoning += s.text;
      }
    else if (item.type === 'function_call')
      calls.push({
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '' },
      });
  }
  const m: Json = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (reasoning !== '') m.reasoning_content = reasoning;
  if (calls.length > 0) m.tool_calls = calls;
  return m;
}
