import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startStack, type StackOptions } from '../helpers/stack.ts';
import { pythonAnthropicSkip } from '../helpers/python-openai.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const both = (urls: string[]) => ({
  upstreams: [{ name: 'm', url: urls[0], api: 'both' }],
  models: { chat: { routes: [{ upstream: 'm' }] } },
});

const all = (urls: string[]) => ({
  upstreams: [{ name: 'm', url: `${urls[0]}/v1`, api: 'all' }],
  models: { chat: { routes: [{ upstream: 'm' }] } },
});

const cases: [string, StackOptions][] = [
  ['translated for an OpenAI-only upstream', {}],
  ['passed through to an upstream that serves both APIs', { mocks: [{ api: 'both' }], config: both }],
  [
    'passed through, and Responses too, to an upstream that serves all three APIs',
    { mocks: [{ api: 'both', responses: true }], config: all },
  ],
];
for (const [how, opts] of cases) {
  test(
    `the official Python anthropic and openai packages work through the Messages and Responses doors, Messages ${how}`,
    { skip: pythonAnthropicSkip },
    async (t) => {
      const { gw, mocks } = await startStack(t, opts);
      const paths: string[] = [];
      mocks[0]?.events.on('request', (r: { path: string }) => paths.push(r.path));
      const prompt = 'Tell me a story';
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          'python3',
          ['test/compat/python_doors.py', gw.url, answerText(1, prompt, 12), answerText(1, prompt, 16)],
          { timeout: 60_000 },
          (err, out, errOut) => {
            if (err) reject(new Error(`${err.message}\n${errOut}`));
            else resolve(out);
          },
        );
      });
      assert.deepEqual(JSON.parse(stdout), {
        messages_create: true,
        messages_stream: true,
        messages_error: 'NotFoundError:404:not_found_error',
        responses_create: true,
        responses_stream: true,
      });
      assert.equal(paths.includes('/v1/messages'), how.startsWith('passed'), paths.join(', '));
      assert.equal(paths.includes('/v1/responses'), how.includes('Responses too'), paths.join(', '));
    },
  );
}
