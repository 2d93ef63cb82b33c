import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

function pythonOpenAI(): boolean {
  try {
    execFileSync('python3', ['-c', 'import openai'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// CI installs the package (.ci/run); elsewhere the test says why it did not run instead of failing.
const available = pythonOpenAI();
const skip = !available && process.env.CI !== 'true' ? 'python3 with the openai package is not installed (pip install openai)' : false;

test('the official Python openai client works through Spillway: stream, reasoning, tools, usage, errors', { skip }, async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] }, 'deepseek-reasoner': { routes: [{ upstream: 'm' }] } },
    }),
  });
  const prompt = 'Tell me a story';
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('python3', ['test/compat/python_client.py', `${gw.url}/v1`, answerText(1, prompt, 12), answerText(1, prompt, 40)], { timeout: 60_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`${err.message}\n${errOut}`));
      else resolve(out);
    });
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
});
