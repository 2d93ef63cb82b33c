import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../../../src/storm/score-messages.ts';
import { answerFacts, scoreAnswer } from '../../../src/storm/score.ts';

const ev = (type: string, extra: Record<string, unknown> = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...extra })}\n\n`;
const text = (t: string) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });

test('Messages answers are scored as a client would: whole and in order, or a named failure', () => {
  const whole =
    ev('message_start') + text('a ') + text('b') + ev('content_block_stop') + ev('message_delta') + ev('message_stop');
  const cases: [Parameters<typeof scoreAnswer>[0], string][] = [
    [{ status: 200, stream: true, body: whole }, 'ok'],
    [{ status: 200, stream: true, body: ev('message_start') + text('a ') }, 'silent_truncation'],
    [{ status: 200, stream: true, body: ev('message_start') + text('b') + ev('message_stop') }, 'out_of_order'],
    [
      {
        status: 200,
        stream: true,
        body: ev('message_start') + text('a ') + ev('error', { error: { type: 'api_error' } }),
      },
      'error_event:api_error',
    ],
    [{ status: 200, stream: true, body: ev('message_start') + text('a ') + ev('message_stop') }, 'incomplete_answer'],
    [
      {
        status: 200,
        stream: false,
        body: JSON.stringify({
          content: [
            { type: 'thinking', thinking: 'x' },
            { type: 'text', text: 'a b' },
          ],
        }),
      },
      'ok',
    ],
    [{ status: 200, stream: false, body: '{' }, 'malformed_json'],
    [
      { status: 529, stream: false, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error' } }) },
      'http_529:overloaded_error',
    ],
    [{ status: 0, stream: true, body: '', clientError: 'deadline' }, 'client_deadline'],
  ];
  for (const [answer, expected] of cases) {
    const v = scoreAnswer(answer, 'a b', MESSAGES);
    assert.equal(v.ok ? 'ok' : v.reason, expected, answer.body);
  }
});

test('the facts of Messages answers: 529 is a refusal, an error before any text too, a stream without message_stop a truncation', () => {
  const busy = () => false;
  const ev = (o: unknown) => `event: x\ndata: ${JSON.stringify(o)}\n\n`;
  const delta = ev({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'a' } });
  const cases: [Parameters<typeof answerFacts>[0], Partial<ReturnType<typeof answerFacts>>][] = [
    [
      { status: 529, stream: false, body: '{"type":"error","error":{"type":"overloaded_error"}}' },
      { errorCode: 'overloaded_error', refusal: true },
    ],
    [
      { status: 200, stream: true, body: ev({ type: 'error', error: { type: 'overloaded_error' } }) },
      { errorCode: 'overloaded_error', refusal: true },
    ],
    [
      { status: 200, stream: true, body: delta + ev({ type: 'error', error: { type: 'api_error' } }) },
      { errorCode: 'api_error', refusal: false },
    ],
    [{ status: 200, stream: true, body: delta }, { silentTruncation: true }],
    [
      { status: 200, stream: true, body: delta + ev({ type: 'message_stop' }) },
      { silentTruncation: false, errorCode: undefined },
    ],
    [{ status: 200, stream: false, body: '  \n' }, { invalidBody: 'blank' }],
    [
      { status: 200, stream: false, body: '{"object":"chat.completion","choices":[]}' },
      { invalidBody: 'invalid_json' },
    ],
    [{ status: 200, stream: false, body: '{"type":"message","content":[]}' }, { invalidBody: undefined }],
  ];
  for (const [answer, want] of cases) {
    const facts = answerFacts(answer, busy, MESSAGES);
    for (const [k, v] of Object.entries(want)) assert.equal(facts[k as keyof typeof facts], v, `${answer.body}: ${k}`);
  }
});
