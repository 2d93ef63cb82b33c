import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startStack } from '../helpers/stack.ts';
import { pythonAnthropicSkip } from '../helpers/python-openai.ts';
import { answerText } from '../../src/mock/answer-text.ts';

test('the official Python anthropic and openai packages work through the Messages and Responses doors', { skip: pythonAnthropicSkip }, async (t) => {
  const { gw } = await startStack(t);
  const prompt = 'Tell me a story';
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('python3', ['test/compat/python_doors.py', gw.url, answerText(1, prompt, 12), answerText(1, prompt, 16)], { timeout: 60_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  assert.deepEqual(JSON.parse(stdout), {
    messages_create: true,
    messages_stream: true,
    messages_error: 'NotFoundError:404:not_found_error',
    responses_create: true,
    responses_stream: true,
  });
});
