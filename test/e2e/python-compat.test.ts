import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startStack } from '../helpers/stack.ts';
import { pythonOpenAISkip } from '../helpers/python-openai.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const skip = pythonOpenAISkip;

test(
  'the official Python openai client works through Spillway: stream, reasoning, tools, usage, errors',
  { skip },
  async (t) => {
    const { gw } = await startStack(t, {
      config: (urls) => ({
        upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
        models: { chat: { routes: [{ upstream: 'm' }] }, 'deepseek-reasoner': { routes: [{ upstream: 'm' }] } },
      }),
    });
    const prompt = 'Tell me a story';
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        'python3',
        ['test/compat/python_client.py', `${gw.url}/v1`, answerText(1, prompt, 12), answerText(1, prompt, 40)],
        { timeout: 60_000 },
        (err, out, errOut) => {
          if (err) reject(new Error(`${err.message}\n${errOut}`));
          else resolve(out);
        },
      );
    });
    const r = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(r, {
      non_stream_ok: true,
      stream_ok: true,
      usage_ok: true,
      reasoning_ok: true,
      tools_ok: true,
      rate_limit_error: 'RateLimitError:3',
      reset_error: r.reset_error,
    });
    assert.match(String(r.reset_error), /^APIError after 7 tokens: .*interrupted/);
  },
);
