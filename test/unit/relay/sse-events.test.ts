import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseEventSplitter, dataOf, eventInfo } from '../../../src/relay/sse-events.ts';

test('only complete events come out of the splitter, however the bytes are cut', () => {
  const s = new SseEventSplitter();
  assert.equal(s.push('data: {"a"'), '');
  assert.equal(s.push(':1}\n'), '');
  assert.equal(s.push('\ndata: {"b":2}\n\ndata: [DO'), 'data: {"a":1}\n\ndata: {"b":2}\n\n');
  assert.equal(s.push('NE]\n\n'), 'data: [DONE]\n\n');
  assert.equal(s.rest(), '');
});

test('CRLF event boundaries are normalised', () => {
  const s = new SseEventSplitter();
  assert.equal(s.push('data: x\r\n\r\n: keep-alive\r\n\r\n'), 'data: x\n\n: keep-alive\n\n');
});

test('eventInfo: table', () => {
  const cases: [string, { data: boolean; done: boolean; error: boolean }][] = [
    [': keep-alive', { data: false, done: false, error: false }],
    ['data: [DONE]', { data: true, done: true, error: false }],
    ['data:[DONE]', { data: true, done: true, error: false }],
    ['data: {"choices":[{"delta":{"content":"hi"}}]}', { data: true, done: false, error: false }],
    ['data: {"error":{"message":"boom"}}', { data: true, done: false, error: true }],
    ['data: {"choices":[{"delta":{"content":"the word \\"error\\""}}]}', { data: true, done: false, error: false }],
    ['event: message\ndata: {"x":1}', { data: true, done: false, error: false }],
    ['data: {"error":{"message":"boom"}}\ndata: [DONE]', { data: true, done: true, error: true }],
    [': note\ndata: {"error":{"message":"boom"}}', { data: true, done: false, error: true }],
    [': note\n: more', { data: false, done: false, error: false }],
    ['event: x', { data: false, done: false, error: false }],
    ['data:', { data: true, done: false, error: false }],
    ['data: {"id":"1","error":null,"choices":[]}', { data: true, done: false, error: false }],
    ['data: {"id":"1","error":{"code":1}}', { data: true, done: false, error: true }],
  ];
  for (const [ev, want] of cases) assert.deepEqual(eventInfo(ev), want, ev);
});

test('dataOf: the payload of the first data line, one optional space after the colon dropped', () => {
  const cases: [string, string | undefined][] = [
    ['data: {"x":1}', '{"x":1}'],
    ['data:{"x":1}', '{"x":1}'],
    ['data:  two spaces', ' two spaces'],
    ['data:', ''],
    [': keep-alive', undefined],
    ['event: message', undefined],
    ['event: message\ndata: {"x":1}', '{"x":1}'],
    ['data: first\ndata: second', 'first'],
    [': note\n: more', undefined],
  ];
  for (const [ev, want] of cases) assert.equal(dataOf(ev), want, ev);
});
