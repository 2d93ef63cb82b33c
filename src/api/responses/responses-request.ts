import { SpillwayError } from '../../errors.ts';
import type { StoredResponse } from './response-store.ts';

type Json = Record<string, unknown>;

/** Fields the Responses API defines; any other top-level field is a vendor extension and passes through as it is. */
const RESPONSES_FIELDS = new Set([
  'model',
  'input',
  'instructions',
  'previous_response_id',
  'tools',
  'tool_choice',
  'max_output_tokens',
  'temperature',
  'top_p',
  'stream',
  'stream_options',
  'store',
  'metadata',
  'user',
  'safety_identifier',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'include',
  'truncation',
  'background',
  'prompt',
  'prompt_cache_key',
  'service_tier',
  'top_logprobs',
  'max_tool_calls',
  'conversation',
]);

/** A Responses request as the chat body it runs as, and what its answer needs to be built and stored. */
export interface ResponsesTurn {
  chat: Json;
  /** The conversation sent (after `previous_response_id` was expanded), without the instructions' system message. */
  history: Json[];
  previousId: string | undefined;
}

/**
 * An OpenAI Responses request → a chat-completions body.
 *
 *   instructions                        → a leading system message (not carried into the next turn, as OpenAI does)
 *   previous_response_id                → the stored conversation before this turn's input (response-store.ts)
 *   input: text                         → one user message
 *   input: message items                → messages (developer → system; input_text/output_text → text, input_image → image_url)
 *   function_call / function_call_output→ assistant tool_calls / tool messages;  reasoning items → reasoning_content
 *   tools (function), tool_choice       → function tools, chat tool_choice;  max_output_tokens → max_tokens
 *   text.format json_object/json_schema → response_format;  user / safety_identifier → user
 */
export function responsesToChat(b: Json, lookup: (id: string) => StoredResponse | undefined): ResponsesTurn {
  if (typeof b.model !== 'string' || b.model === '') throw invalid('You must provide a model parameter.', 'model');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean')
    throw invalid("'stream' must be a boolean.", 'stream');
  const history: Json[] = [];
  let previousId: string | undefined;
  if (b.previous_response_id !== undefined && b.previous_response_id !== null) {
    if (typeof b.previous_response_id !== 'string')
      throw invalid("'previous_response_id' must be a string.", 'previous_response_id');
    previousId = b.previous_response_id;
    const prev = lookup(previousId);
    if (prev === undefined) {
      throw new SpillwayError('response_not_found', `Previous response with id '${previousId}' not found.`, {
        param: 'previous_response_id',
      });
    }
    history.push(...prev.messages);
  }
  history.push(...inputMessages(b.input));
  if (history.length === 0) throw invalid("'input' must be a non-empty string or array of items.", 'input');
  const messages: Json[] = [];
  if (b.instructions !== undefined && b.instructions !== null) {
    if (typeof b.instructions !== 'string') throw invalid("'instructions' must be a string.", 'instructions');
    if (b.instructions !== '') messages.push({ role: 'system', content: b.instructions });
  }
  messages.push(...history);
  const chat: Json = { model: b.model, messages };
  for (const k of Object.keys(b)) if (!RESPONSES_FIELDS.has(k)) chat[k] = b[k];
  if (b.max_output_tokens !== undefined && b.max_output_tokens !== null) {
    if (typeof b.max_output_tokens !== 'number' || !Number.isInteger(b.max_output_tokens) || b.max_output_tokens < 1)
      throw invalid("'max_output_tokens' must be a positive integer.", 'max_output_tokens');
    chat.max_tokens = b.max_output_tokens;
  }
  if (b.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  for (const k of ['temperature', 'top_p'] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== 'number') throw invalid(`'${k}' must be a number.`, k);
    chat[k] = b[k];
  }
  if (typeof b.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = b.parallel_tool_calls;
  if (b.tools !== undefined && b.tools !== null) {
    if (!Array.isArray(b.tools)) throw invalid("'tools' must be an array.", 'tools');
    if (b.tools.length > 0) chat.tools = b.tools.map(tool);
  }
  if (b.tool_choice !== undefined && b.tool_choice !== null) chat.tool_choice = toolChoice(b.tool_choice);
  const format = responseFormat(b.text);
  if (format !== undefined) chat.response_format = format;
  const user =
    typeof b.user === 'string' && b.user !== ''
      ? b.user
      : typeof b.safety_identifier === 'string' && b.safety_identifier !== ''
        ? b.safety_identifier
        : undefined;
  if (user !== undefined) chat.user = user;
  return { chat, history, previousId };
}

function invalid(message: string, param: string): SpillwayError {
  return new SpillwayError('invalid_request', message, { param });
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function inputMessages(input: unknown): Json[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return input === '' ? [] : [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw invalid("'input' must be a string or an array of items.", 'input');
  const out: Json[] = [];
  let reasoning: string | undefined;
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) throw invalid(`${at} must be an object.`, at);
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = item.role === 'developer' ? 'system' : item.role;
        if (role !== 'user' && role !== 'assistant' && role !== 'system')
          throw invalid(`${at}.role must be 'user', 'assistant', 'system' or 'developer'.`, at);
        const msg: Json = { role, content: content(item.content, at) };
        if (role === 'assistant' && reasoning !== undefined) {
          msg.reasoning_content = reasoning;
          reasoning = undefined;
        }
        out.push(msg);
        break;
      }
      case 'function_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string')
          throw invalid(`${at} needs a call_id and a name.`, at);
        const call = {
          id: item.call_id,
          type: 'function',
          function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' },
        };
        const last = out.at(-1);
        // Consecutive calls of one answer are one assistant message with several tool calls.
        if (last !== undefined && last.role === 'assistant' && Array.isArray(last.tool_calls))
          (last.tool_calls as Json[]).push(call);
        else {
          const msg: Json = { role: 'assistant', content: null, tool_calls: [call] };
          if (reasoning !== undefined) msg.reasoning_content = reasoning;
          reasoning = undefined;
          out.push(msg);
        }
        break;
      }
      case 'function_call_output': {
        if (typeof item.call_id !== 'string') throw invalid(`${at}.call_id must be a string.`, at);
        out.push({
          role: 'tool',
          tool_call_id: item.call_id,
          content: typeof item.output === 'string' ? item.output : partsText(item.output),
        });
        break;
      }
      case 'reasoning': {
        const summary = Array.isArray(item.summary)
          ? item.summary.map((s) => (isObject(s) && typeof s.text === 'string' ? s.text : '')).join('')
          : '';
        reasoning = (reasoning ?? '') + summary;
        break;
      }
      case undefined:
      default:
        throw invalid(
          `${at}: items of type ${JSON.stringify(type) ?? 'undefined'} are not supported by Spillway's Responses door.`,
          at,
        );
    }
  });
  return out;
}

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

function content(c: unknown, at: string): unknown {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) throw invalid(`${at}.content must be a string or an array of parts.`, at);
  const parts = c.map((p, j) => {
    if (!isObject(p)) throw invalid(`${at}.content[${j}] must be an object.`, at);
    if ((p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string')
      return { type: 'text', text: p.text };
    if (p.type === 'input_image' && typeof p.image_url === 'string')
      return { type: 'image_url', image_url: { url: p.image_url } };
    if (p.type === 'refusal' && typeof p.refusal === 'string') return { type: 'text', text: p.refusal };
    throw invalid(
      `${at}.content[${j}]: parts of type ${JSON.stringify(p.type) ?? 'undefined'} are not supported by Spillway's Responses door.`,
      at,
    );
  });
  return parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

function tool(t: unknown, i: number): Json {
  const at = `tools[${i}]`;
  if (!isObject(t) || t.type !== 'function' || typeof t.name !== 'string') {
    throw invalid(`${at}: only function tools are supported by Spillway's Responses door.`, at);
  }
  const fn: Json = {
    name: t.name,
    parameters: isObject(t.parameters) ? t.parameters : { type: 'object', properties: {} },
  };
  if (typeof t.description === 'string') fn.description = t.description;
  if (typeof t.strict === 'boolean') fn.strict = t.strict;
  return { type: 'function', function: fn };
}

function toolChoice(c: unknown): unknown {
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  if (isObject(c) && c.type === 'function' && typeof c.name === 'string')
    return { type: 'function', function: { name: c.name } };
  throw invalid("'tool_choice' must be 'auto', 'none', 'required' or a function.", 'tool_choice');
}

function responseFormat(text: unknown): Json | undefined {
  const f = isObject(text) ? text.format : undefined;
  if (!isObject(f) || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type === 'json_schema')
    return {
      type: 'json_schema',
      json_schema: { name: f.name, schema: f.schema, ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}) },
    };
  throw invalid("'text.format.type' must be 'text', 'json_object' or 'json_schema'.", 'text.format');
}
