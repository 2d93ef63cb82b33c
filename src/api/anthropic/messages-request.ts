import { SpillwayError } from '../../errors.ts';

type Json = Record<string, unknown>;

/**
 * Fields the Messages API defines. Any other top-level field is a vendor extension and passes through as it is, as
 * on the chat door (e.g. an upstream's own switches, or the simulator's `mock` fault field).
 */
const MESSAGES_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_k',
  'top_p',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'container',
  'mcp_servers',
  'context_management',
]);

/**
 * An Anthropic Messages request → the chat-completions body the pipeline runs (and an OpenAI-compatible upstream
 * understands). Everything the answer depends on is translated; what has no chat-completions equivalent is either
 * dropped when it cannot change the answer (`top_k`, `service_tier`, cache_control marks) or refused with a 400 in
 * Anthropic's shape when it would (server tools, documents). docs/doors.md lists both. Fields the Messages API does
 * not define pass through untouched.
 *
 *   system                      → a leading system message
 *   user text / image blocks    → user content (a string when it is text only; image_url parts for images)
 *   user tool_result blocks     → tool messages, placed before the rest of that user turn
 *   assistant text / tool_use   → content / tool_calls;  thinking → reasoning_content (DeepSeek needs it back in tool loops)
 *   tools, tool_choice          → function tools, "auto" | "required" | "none" | {function}; disable_parallel_tool_use → parallel_tool_calls
 *   max_tokens, stop_sequences  → max_tokens, stop;  metadata.user_id → user (DeepSeek's KV-cache and scheduling key)
 *   thinking {type}             → thinking {type} (DeepSeek's switch; other upstreams ignore or refuse it)
 */
export function messagesToChat(b: Json, countOnly = false): Json {
  if (typeof b.model !== 'string' || b.model === '') throw invalid('model: Field required', 'model');
  if (!countOnly && (typeof b.max_tokens !== 'number' || !Number.isInteger(b.max_tokens) || b.max_tokens < 1)) {
    throw invalid('max_tokens: Field required (a positive integer)', 'max_tokens');
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw invalid('messages: at least one message is required', 'messages');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean')
    throw invalid('stream: must be a boolean', 'stream');
  const messages: Json[] = [];
  const system = systemText(b.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  b.messages.forEach((m, i) => messages.push(...turn(m, i)));
  const chat: Json = { model: b.model, messages };
  for (const k of Object.keys(b)) if (!MESSAGES_FIELDS.has(k)) chat[k] = b[k];
  if (!countOnly) chat.max_tokens = b.max_tokens;
  if (b.stream === true) {
    chat.stream = true;
    // The closing message_delta carries usage: ask for the usage chunk.
    chat.stream_options = { include_usage: true };
  }
  for (const k of ['temperature', 'top_p'] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== 'number') throw invalid(`${k}: must be a number`, k);
    chat[k] = b[k];
  }
  if (b.stop_sequences !== undefined && b.stop_sequences !== null) {
    if (!Array.isArray(b.stop_sequences) || !b.stop_sequences.every((s) => typeof s === 'string'))
      throw invalid('stop_sequences: must be an array of strings', 'stop_sequences');
    if (b.stop_sequences.length > 0) chat.stop = b.stop_sequences;
  }
  if (b.tools !== undefined && b.tools !== null) {
    if (!Array.isArray(b.tools)) throw invalid('tools: must be an array', 'tools');
    if (b.tools.length > 0) chat.tools = b.tools.map(tool);
  }
  const choice = toolChoice(b.tool_choice);
  if (choice !== undefined) {
    chat.tool_choice = choice.choice;
    if (choice.parallel === false) chat.parallel_tool_calls = false;
  }
  const thinking = b.thinking as Json | null | undefined;
  if (thinking !== undefined && thinking !== null) {
    if (typeof thinking !== 'object' || (thinking.type !== 'enabled' && thinking.type !== 'disabled'))
      throw invalid("thinking: type must be 'enabled' or 'disabled'", 'thinking');
    chat.thinking = { type: thinking.type };
  }
  const user = (b.metadata as Json | null | undefined)?.user_id;
  if (typeof user === 'string' && user !== '') chat.user = user;
  return chat;
}

function invalid(message: string, param: string): SpillwayError {
  return new SpillwayError('invalid_request', message, { param });
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function systemText(system: unknown): string | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system === 'string') return system === '' ? undefined : system;
  if (!Array.isArray(system)) throw invalid('system: must be a string or an array of text blocks', 'system');
  const texts = system.map((blk, i) => {
    if (!isObject(blk) || blk.type !== 'text' || typeof blk.text !== 'string')
      throw invalid(`system.${i}: must be a text block`, 'system');
    return blk.text;
  });
  return texts.length === 0 ? undefined : texts.join('\n');
}

/** One Messages turn → one or more chat messages. */
function turn(m: unknown, i: number): Json[] {
  const where = `messages.${i}`;
  if (!isObject(m) || (m.role !== 'user' && m.role !== 'assistant'))
    throw invalid(`${where}.role: must be 'user' or 'assistant'`, where);
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  if (!Array.isArray(m.content))
    throw invalid(`${where}.content: must be a string or an array of content blocks`, where);
  const blocks = m.content.map((blk, j) => {
    if (!isObject(blk) || typeof blk.type !== 'string')
      throw invalid(`${where}.content.${j}: must be a content block with a type`, where);
    return blk;
  });
  return m.role === 'user' ? userTurn(blocks, where) : [assistantTurn(blocks, where)];
}

function userTurn(blocks: Json[], where: string): Json[] {
  const tools: Json[] = [];
  const parts: Json[] = [];
  blocks.forEach((blk, j) => {
    const at = `${where}.content.${j}`;
    switch (blk.type) {
      case 'text':
        if (typeof blk.text !== 'string') throw invalid(`${at}.text: must be a string`, at);
        parts.push({ type: 'text', text: blk.text });
        break;
      case 'image':
        parts.push({ type: 'image_url', image_url: { url: imageUrl(blk.source, at) } });
        break;
      case 'tool_result': {
        if (typeof blk.tool_use_id !== 'string') throw invalid(`${at}.tool_use_id: must be a string`, at);
        const text = resultText(blk.content, at);
        tools.push({
          role: 'tool',
          tool_call_id: blk.tool_use_id,
          content: blk.is_error === true ? `Error: ${text}` : text,
        });
        break;
      }
      default:
        throw invalid(
          `${at}: content blocks of type '${blk.type as string}' are not supported by Spillway's Messages door`,
          at,
        );
    }
  });
  // A chat tool message must follow the assistant turn that called the tool: results first, then the rest.
  if (parts.length === 0) return tools;
  const textOnly = parts.every((p) => p.type === 'text');
  const content = textOnly ? parts.map((p) => p.text as string).join('\n') : parts;
  return [...tools, { role: 'user', content }];
}

function assistantTurn(blocks: Json[], where: string): Json {
  let text = '';
  let reasoning: string | undefined;
  const calls: Json[] = [];
  blocks.forEach((blk, j) => {
    const at = `${where}.content.${j}`;
    switch (blk.type) {
      case 'text':
        if (typeof blk.text !== 'string') throw invalid(`${at}.text: must be a string`, at);
        text += blk.text;
        break;
      case 'thinking':
        if (typeof blk.thinking !== 'string') throw invalid(`${at}.thinking: must be a string`, at);
        reasoning = (reasoning ?? '') + blk.thinking;
        break;
      case 'redacted_thinking':
        break; // opaque to any other upstream: nothing to send back
      case 'tool_use':
        if (typeof blk.id !== 'string' || typeof blk.name !== 'string')
          throw invalid(`${at}: tool_use needs an id and a name`, at);
        calls.push({
          id: blk.id,
          type: 'function',
          function: { name: blk.name, arguments: JSON.stringify(blk.input ?? {}) },
        });
        break;
      default:
        throw invalid(
          `${at}: content blocks of type '${blk.type as string}' are not supported in an assistant turn`,
          at,
        );
    }
  });
  const msg: Json = { role: 'assistant', content: calls.length > 0 && text === '' ? null : text };
  if (reasoning !== undefined) msg.reasoning_content = reasoning;
  if (calls.length > 0) msg.tool_calls = calls;
  return msg;
}

function imageUrl(source: unknown, at: string): string {
  if (isObject(source)) {
    if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string')
      return `data:${source.media_type};base64,${source.data}`;
    if (source.type === 'url' && typeof source.url === 'string') return source.url;
  }
  throw invalid(`${at}.source: must be a base64 or url image source`, at);
}

function resultText(content: unknown, at: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`${at}.content: must be a string or an array of text blocks`, at);
  return content.map((c) => (isObject(c) && c.type === 'text' && typeof c.text === 'string' ? c.text : '')).join('\n');
}

function tool(t: unknown, i: number): Json {
  const at = `tools.${i}`;
  if (!isObject(t) || typeof t.name !== 'string' || t.name === '') throw invalid(`${at}.name: Field required`, at);
  if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
    throw invalid(
      `${at}: server tools (${JSON.stringify(t.type)}) are not supported by Spillway's Messages door; only client tools with an input_schema`,
      at,
    );
  }
  const fn: Json = {
    name: t.name,
    parameters: isObject(t.input_schema) ? t.input_schema : { type: 'object', properties: {} },
  };
  if (typeof t.description === 'string') fn.description = t.description;
  return { type: 'function', function: fn };
}

function toolChoice(c: unknown): { choice: unknown; parallel: boolean | undefined } | undefined {
  if (c === undefined || c === null) return undefined;
  if (!isObject(c)) throw invalid('tool_choice: must be an object', 'tool_choice');
  const parallel = c.disable_parallel_tool_use === true ? false : undefined;
  switch (c.type) {
    case 'auto':
      return { choice: 'auto', parallel };
    case 'any':
      return { choice: 'required', parallel };
    case 'none':
      return { choice: 'none', parallel };
    case 'tool':
      if (typeof c.name !== 'string') throw invalid('tool_choice.name: Field required', 'tool_choice');
      return { choice: { type: 'function', function: { name: c.name } }, parallel };
    default:
      throw invalid("tool_choice.type: must be 'auto', 'any', 'tool' or 'none'", 'tool_choice');
  }
}
