/**
 * Scores one answer the way a client would judge it: a success is status 200 AND the complete, correct answer
 * (for streams, every token in order and then `[DONE]`). Everything else is a failure with one reason. A stream
 * that ends looking complete but is not — no `[DONE]` and no error event, or `[DONE]` after missing tokens — is a
 * *silent truncation*, the worst failure a gateway can produce.
 */
export interface Answer {
  status: number;
  stream: boolean;
  body: string;
  /** Set when the client gave up or the connection failed before an answer was read. */
  clientError?: 'deadline' | 'connection';
}

export type Verdict = { ok: true } | { ok: false; reason: string; silentTruncation: boolean };

export const fail = (reason: string, silentTruncation = false): Verdict => ({ ok: false, reason, silentTruncation });

/**
 * How one API's answers read: chat completions (CHAT, here) or the Anthropic Messages door (score-messages.ts). The
 * rules around them — client errors, statuses, blank bodies, comparing the text with the expected one — are one.
 */
export interface AnswerFormat {
  /** The error's identifier in an error body, as `:id`, or '' when it has none. */
  errorTag(body: string): string;
  /** The statuses that say "come back later". */
  refusals: readonly number[];
  /** The text of a parsed non-stream answer (may throw on a body of the wrong shape: then it is malformed). */
  jsonText(json: unknown): unknown;
  /** A stream's verdict: its text in order and a clean end. */
  scoreStream(body: string, expected: string): Verdict;
  /** What a 200 stream, or a non-blank 200 body, shows of the damage `AnswerFacts` counts. */
  streamFacts(body: string, facts: AnswerFacts): void;
  jsonFacts(body: string, facts: AnswerFacts): void;
}

export function scoreAnswer(a: Answer, expected: string, format: AnswerFormat = CHAT): Verdict {
  if (a.clientError === 'deadline') return fail('client_deadline');
  if (a.clientError === 'connection') return fail('connection_error');
  if (a.status !== 200) return fail(`http_${a.status}${format.errorTag(a.body)}`);
  return a.stream ? format.scoreStream(a.body, expected) : scoreJson(a.body, expected, format);
}

function scoreJson(body: string, expected: string, format: AnswerFormat): Verdict {
  let text: unknown;
  try {
    text = format.jsonText(JSON.parse(body));
  } catch {
    return fail('malformed_json', true);
  }
  if (text === expected) return { ok: true };
  return typeof text === 'string' && expected.startsWith(text)
    ? fail('incomplete_answer', true)
    : fail('wrong_content');
}

/** A stream's text against the expected answer, once its events are read: order first, then its end, then whole. */
export function judgeStream(text: string, ended: boolean, expected: string): Verdict {
  // The simulator's tokens carry their index (`t0-…`, `t1-…`): a duplicated or reordered token breaks the prefix.
  if (!expected.startsWith(text)) return fail('out_of_order');
  if (!ended) return fail('silent_truncation', true);
  if (text !== expected) return fail('incomplete_answer', true);
  return { ok: true };
}

/** A stream body's events (each without its blank line), line ends normalised. */
export function sseEvents(body: string): string[] {
  return body.replace(/\r\n?/g, '\n').split('\n\n');
}

/** The payload of a `data:` line (one optional space after the colon is not part of it). */
export function dataPayload(line: string): string {
  return line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
}

/** The `:id` of an error body's `error[key]`, or ''. */
export function errorTagOf(body: string, key: 'code' | 'type'): string {
  try {
    const id = (JSON.parse(body) as { error?: Record<string, unknown> }).error?.[key];
    return typeof id === 'string' ? `:${id}` : '';
  } catch {
    return '';
  }
}

function scoreChatStream(body: string, expected: string): Verdict {
  let text = '';
  let done = false;
  for (const event of sseEvents(body)) {
    for (const line of event.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = dataPayload(line);
      if (data === '[DONE]') {
        if (done) return fail('data_after_done');
        done = true;
        continue;
      }
      if (done) return fail('data_after_done');
      let j: { error?: { code?: unknown }; choices?: { delta?: { content?: unknown } }[] };
      try {
        j = JSON.parse(data) as typeof j;
      } catch {
        return fail('malformed_event', true);
      }
      if (j.error !== undefined)
        return fail(`error_event${typeof j.error.code === 'string' ? `:${j.error.code}` : ''}`);
      const c = j.choices?.[0]?.delta?.content;
      if (typeof c === 'string') text += c;
    }
  }
  return judgeStream(text, done, expected);
}

/**
 * What a client received, apart from whether it was the right answer — the damage a gateway must never pass on,
 * counted separately because each has its own cause:
 *   errorCode        the error's `code` (status body, or the in-band error event / body after keep-alives)
 *   invalidBody      a non-stream 200 whose body is blank (only whitespace: DeepSeek's empty answer) or is not a
 *                    JSON chat completion — the `JSONDecodeError` a user reports
 *   silentTruncation a stream that ended cleanly with neither `[DONE]` nor an in-band error event
 *   upstreamBusy     a failure carrying an upstream's own "busy" words (its 429/503, relayed as such)
 *   refusal          a "come back later" before any content: status 429/503, or an error before the first token
 */
export interface AnswerFacts {
  errorCode: string | undefined;
  invalidBody: 'blank' | 'invalid_json' | undefined;
  silentTruncation: boolean;
  upstreamBusy: boolean;
  refusal: boolean;
}

export function answerFacts(
  a: Answer,
  upstreamBusy: (text: string) => boolean,
  format: AnswerFormat = CHAT,
): AnswerFacts {
  const facts: AnswerFacts = {
    errorCode: undefined,
    invalidBody: undefined,
    silentTruncation: false,
    upstreamBusy: false,
    refusal: false,
  };
  if (a.clientError !== undefined) return facts;
  const body = a.body;
  if (a.status !== 200) {
    facts.errorCode = format.errorTag(body).slice(1) || undefined;
    facts.refusal = format.refusals.includes(a.status);
  } else if (a.stream) {
    format.streamFacts(body, facts);
  } else if (body.trim() === '') {
    facts.invalidBody = 'blank';
  } else {
    format.jsonFacts(body, facts);
  }
  facts.upstreamBusy = (a.status !== 200 || facts.errorCode !== undefined) && upstreamBusy(body);
  return facts;
}

function chatStreamFacts(body: string, facts: AnswerFacts): void {
  const s = streamShape(body);
  facts.errorCode = s.errorCode;
  facts.silentTruncation = !s.done && !s.error;
  facts.refusal = s.error && !s.content;
}

function chatJsonFacts(body: string, facts: AnswerFacts): void {
  let j: { object?: unknown; choices?: unknown; error?: { code?: unknown } } | undefined;
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    j = undefined;
  }
  if (j?.error !== undefined) {
    // An error written after keep-alive lines: the status was already 200, so this is the only way to say it.
    facts.errorCode = typeof j.error.code === 'string' ? j.error.code : 'error';
    facts.refusal = true;
  } else if (
    j === undefined ||
    j === null ||
    typeof j !== 'object' ||
    j.object !== 'chat.completion' ||
    !Array.isArray(j.choices)
  ) {
    facts.invalidBody = 'invalid_json';
  }
}

function streamShape(body: string): { done: boolean; error: boolean; content: boolean; errorCode: string | undefined } {
  const out = { done: false, error: false, content: false, errorCode: undefined as string | undefined };
  for (const line of body.replace(/\r\n?/g, '\n').split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = dataPayload(line);
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    try {
      const j = JSON.parse(data) as { error?: { code?: unknown }; choices?: { delta?: { content?: unknown } }[] };
      if (j.error !== undefined) {
        out.error = true;
        out.errorCode = typeof j.error.code === 'string' ? j.error.code : 'error';
      }
      const c = j.choices?.[0]?.delta?.content;
      if (typeof c === 'string' && c !== '') out.content = true;
    } catch {
      // A garbled event: neither an end nor an error; the scorer reports it.
    }
  }
  return out;
}

/** Chat completions, as the OpenAI SDKs read them. */
export const CHAT: AnswerFormat = {
  errorTag: (body) => errorTagOf(body, 'code'),
  refusals: [429, 503],
  jsonText: (json) => (json as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content,
  scoreStream: scoreChatStream,
  streamFacts: chatStreamFacts,
  jsonFacts: chatJsonFacts,
};
