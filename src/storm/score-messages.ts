import {
  dataPayload,
  errorTagOf,
  fail,
  judgeStream,
  sseEvents,
  type AnswerFacts,
  type AnswerFormat,
  type Verdict,
} from './score.ts';

/**
 * Answers that came through the Anthropic Messages door (the storm run with `--door messages`), scored by the same
 * rules as chat completions (score.ts): success is 200 and the complete, correct text; a stream must end with
 * `message_stop` after every token in order, and one that ends without it and without an `error` event is a silent
 * truncation. The error's identifier is Anthropic's `error.type`; 529 is a refusal as 429 and 503 are.
 */
export const MESSAGES: AnswerFormat = {
  errorTag: (body) => errorTagOf(body, 'type'),
  refusals: [429, 503, 529],
  jsonText: (json) =>
    (json as { content?: { type?: unknown; text?: unknown }[] }).content
      ?.filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join(''),
  scoreStream,
  streamFacts,
  jsonFacts,
};

/** The `data:` payload of each event that has one (a Messages event carries one). */
function* eventData(body: string): Generator<string> {
  for (const event of sseEvents(body)) {
    const data = event.split('\n').find((l) => l.startsWith('data:'));
    if (data !== undefined) yield dataPayload(data);
  }
}

function scoreStream(body: string, expected: string): Verdict {
  let text = '';
  let stopped = false;
  for (const data of eventData(body)) {
    if (stopped) return fail('data_after_done');
    let j: { type?: unknown; error?: { type?: unknown }; delta?: { type?: unknown; text?: unknown } };
    try {
      j = JSON.parse(data) as typeof j;
    } catch {
      return fail('malformed_event', true);
    }
    if (j.type === 'error') return fail(`error_event${typeof j.error?.type === 'string' ? `:${j.error.type}` : ''}`);
    if (j.type === 'message_stop') stopped = true;
    if (j.type === 'content_block_delta' && j.delta?.type === 'text_delta' && typeof j.delta.text === 'string')
      text += j.delta.text;
  }
  return judgeStream(text, stopped, expected);
}

/** A stream's end or error: an error before any text is a refusal; no `message_stop` and no error, a truncation. */
function streamFacts(body: string, facts: AnswerFacts): void {
  let stopped = false;
  let text = false;
  for (const data of eventData(body)) {
    try {
      const j = JSON.parse(data) as { type?: unknown; error?: { type?: unknown }; delta?: { type?: unknown } };
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
}

/** A non-stream 200 that is not a Message is an invalid body. */
function jsonFacts(body: string, facts: AnswerFacts): void {
  let j: { type?: unknown; content?: unknown } | undefined;
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    j = undefined;
  }
  if (j === undefined || j === null || typeof j !== 'object' || j.type !== 'message' || !Array.isArray(j.content))
    facts.invalidBody = 'invalid_json';
}
