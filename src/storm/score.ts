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

export type Verdict =
  | { ok: true }
  | { ok: false; reason: string; silentTruncation: boolean };

const fail = (reason: string, silentTruncation = false): Verdict => ({ ok: false, reason, silentTruncation });

export function scoreAnswer(a: Answer, expected: string): Verdict {
  if (a.clientError === 'deadline') return fail('client_deadline');
  if (a.clientError === 'connection') return fail('connection_error');
  if (a.status !== 200) return fail(`http_${a.status}${errorCode(a.body)}`);
  return a.stream ? scoreStream(a.body, expected) : scoreJson(a.body, expected);
}

function errorCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? `:${code}` : '';
  } catch {
    return '';
  }
}

function scoreJson(body: string, expected: string): Verdict {
  let content: unknown;
  try {
    content = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
  } catch {
    return fail('malformed_json', true);
  }
  if (content === expected) return { ok: true };
  return typeof content === 'string' && expected.startsWith(content) ? fail('incomplete_answer', true) : fail('wrong_content');
}

function scoreStream(body: string, expected: string): Verdict {
  let text = '';
  let done = false;
  for (const event of body.replace(/\r\n?/g, '\n').split('\n\n')) {
    for (const line of event.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
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
      if (j.error !== undefined) return fail(`error_event${typeof j.error.code === 'string' ? `:${j.error.code}` : ''}`);
      const c = j.choices?.[0]?.delta?.content;
      if (typeof c === 'string') text += c;
    }
  }
  // The simulator's tokens carry their index (`t0-…`, `t1-…`): a duplicated or reordered token breaks the prefix.
  if (!expected.startsWith(text)) return fail('out_of_order');
  if (!done) return fail('silent_truncation', true);
  if (text !== expected) return fail('incomplete_answer', true);
  return { ok: true };
}
