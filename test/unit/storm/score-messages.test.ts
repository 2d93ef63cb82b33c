import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreMessagesAnswer } from '../../../src/storm/score-messages.ts';

const ev = (type: string, extra: Record<string, unknown> = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...extra })}\n\n`;
const text = (t: string) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });

test('Messages answers are scored as a client would: whole and in order, or a named failure', () => {
  const whole =
    ev('message_start') + text('a ') + text('b') + ev('content_block_stop') + ev('message_delta') + ev('message_stop');
  const cases: [Parameters<typeof scoreMessagesAnswer>[0], string][] = [
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
    const v = scoreMessagesAnswer(answer, 'a b');
    assert.equal(v.ok ? 'ok' : v.reason, expected, answer.body);
  }
});
