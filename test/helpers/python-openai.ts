import { execFileSync } from 'node:child_process';

function pythonOpenAI(): boolean {
  try {
    execFileSync('python3', ['-c', 'import openai'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The skip reason for tests that drive the official Python openai client: CI installs the package (.ci/run) and
 * must never skip; elsewhere the test says why it did not run instead of failing.
 */
export const pythonOpenAISkip: string | false =
  !pythonOpenAI() && process.env.CI !== 'true' ? 'python3 with the openai package is not installed (pip install openai)' : false;
