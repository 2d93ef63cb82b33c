import { execFileSync } from 'node:child_process';

/** True when python3 can import `module`. */
function pythonHas(module: string): boolean {
  try {
    execFileSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' });
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
  !pythonHas('openai') && process.env.CI !== 'true'
    ? 'python3 with the openai package is not installed (pip install openai)'
    : false;

/** The same for tests that also drive the official Python anthropic package (the Messages door). */
export const pythonAnthropicSkip: string | false =
  !(pythonHas('openai') && pythonHas('anthropic')) && process.env.CI !== 'true'
    ? 'python3 with the openai and anthropic packages is not installed (pip install openai anthropic)'
    : false;
