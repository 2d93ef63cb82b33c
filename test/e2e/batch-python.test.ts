import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startStack } from '../helpers/stack.ts';
import { pythonOpenAISkip } from '../helpers/python-openai.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const skip = pythonOpenAISkip;

test(
  'the official Python openai client runs a batch end to end: every output line answers its own custom_id',
  { skip },
  async (t) => {
    const dir = tempDataDir(t);
    const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
    const n = 50;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        'python3',
        ['test/compat/python_batch.py', `${gw.url}/v1`, String(n)],
        { timeout: 60_000 },
        (err, out, errOut) => {
          if (err) reject(new Error(`${err.message}\n${errOut}`));
          else resolve(out);
        },
      );
    });
    const r = JSON.parse(stdout) as { status: string; counts: unknown; answers: Record<string, string> };
    assert.equal(r.status, 'completed');
    assert.deepEqual(r.counts, { total: n, completed: n, failed: 0 });
    assert.equal(Object.keys(r.answers).length, n);
    for (let i = 0; i < n; i++) assert.equal(r.answers[`py-${i}`], answerText(1, `python item ${i}`, 3), `py-${i}`);
  },
);
