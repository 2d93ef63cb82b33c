import type { Answer, AnswerFacts, Verdict } from './score.ts';

/**
 * Scores an answer that came through the Anthropic Messages door (the storm run with `--door messages`) by the
 * same rules as score.ts: success is 200 and the complete, correct text; a stream must end with `message_stop`
 * after every token in order, and one that ends without it and without an `error` event is a silent truncation.
 */
const fail = (reason: string, silentTruncation = false): Verdict => ({ ok: false, reason, silentTruncation });

export function scoreMessagesAnswer(a: Answer, expected: string): Verdict {
  if (a.clientError === 'deadline') return fail('client_deadline');
  if (a.clientError === 'connection') return fail('connection_error');
  if (a.status !== 200) return fail(`http_${a.status}${errorType(a.body)}`);
  return a.stream ? scoreStream(a.body, expected) : scoreJson(a.body, expected);
}

function errorType(body: string): string {
  try {
    const type = (JSON.parse(body) as { error?: { type?: unknown } }).error?.type;
    return typeof type === 'string' ? `:${type}` : '';
  } catch {
    return '';
  }
}

function scoreJson(body: string, expected: string): Verdict {
  let text: unknown;
  try {
    const content = (JSON.parse(body) as { content?: { type?: unknown; text?: unknown }[] }).content;
    text = content
      ?.filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join('');
  } catch {
    return fail('malformed_json', true);
  }
  if (text === expected) return { ok: true };
  return typeof text === 'string' && expected.startsWith(text)
    ? fail('incomplete_answer', true)
    : fail('wrong_content');
}

function scoreStream(body: string, expected: string): Verdict {
  let text = '';
  let stopped = false;
  for (const event of body.replace(/\r\n?/g, '\n').split('\n\n')) {
    const data = event.split('\n').find((l) => l.startsWith('data:'));
    if (data === undefined) continue;
    if (stopped) return fail('data_after_done');
    let j: { type?: unknown; error?: { type?: unknown }; delta?: { type?: unknown; text?: unknown } };
    try {
      j = JSON.parse(data.slice(data.charCodeAt(5) === 32 ? 6 : 5)) as typeof j;
    } catch {
      return fail('malformed_event', true);
    }
    if (j.type === 'error') return fail(`error_event${typeof j.error?.type === 'string' ? `:${j.error.type}` : ''}`);
    if (j.type === 'message_stop') stopped = true;
    if (j.type === 'content_block_delta' && j.delta?.type === 'text_delta' && typeof j.delta.text === 'string')
      text += j.delta.text;
  }
  if (!expected.startsWith(text)) return fail('out_of_order');
  if (!stopped) return fail('silent_truncation', true);
  if (text !== expected) return fail('incomplete_answer', true);
  return { ok: true };
}

/**
 * The facts of a Messages answer, as score.ts's answerFacts gives them for chat completions: the error (Anthropic's
 * `error.type`), a body that is not a Message, a stream that ended without `message_stop` or an error, and whether
 * the answer was a refusal (429, 503/529, or an error before any text).
 */
export function messagesAnswerFacts(a: Answer, upstreamBusy: (text: string) => boolean): AnswerFacts {
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
    facts.errorCode = errorType(body).slice(1) || undefined;
    facts.refusal = a.status === 429 || a.status === 503 || a.status === 529;
  } else if (a.stream) {
    let stopped = false;
    let text = false;
    for (const event of body.replace(/\r\n?/g, '\n').split('\n\n')) {
      const data = event.split('\n').find((l) => l.startsWith('data:'));
      if (data === undefined) continue;
      try {
        const j = JSON.parse(data.slice(data.charCodeAt(5) === 32 ? 6 : 5)) as {
          type?: unknown;
          error?: { type?: unknown };
          delta?: { type?: unknown };
        };
        if (j.type === 'message_stop') stopped = true;
        if (j.type === 'content_block_delta' && j.delta?.type === 'text_delta') text = true;
        if (j.type === 'error') {
          facts.errorCode = typeof j.error?.type === 'string' ? j.error.type : 'error';
          facts.refusal = !text;
        }
      } catch {
        // A garbled event: neither an end nor an error; the scorer reports it.
      }
    }
    facts.silentTruncation = !stopped && facts.errorCode === undefined;
  } else if (body.trim() === '') {
    facts.invalidBody = 'blank';
  } else {
    let j: { type?: unknown; content?: unknown } | undefined;
    try {
      j = JSON.parse(body) as typeof j;
    } catch {
      j = undefined;
    }
    if (j === undefined || j === null || typeof j !== 'object' || j.type !== 'message' || !Array.isArray(j.content))
      facts.invalidBody = 'invalid_json';
  }
  facts.upstreamBusy = (a.status !== 200 || facts.errorCode !== undefined) && upstreamBusy(body);
  return facts;
}
