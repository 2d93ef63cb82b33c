import type { TestContext } from 'node:test';
import { accessSync, constants } from 'node:fs';
import { execFile } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { homedir } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * An external tool the deploy tests use (promtool, helm, kubernetes-validate, hadolint),
 * found on PATH or where `.ci/run` installs it (`go install` and `go build` put Go tools in $GOPATH/bin).
 * Undefined when absent.
 */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin')];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The tool's path, or the test is skipped with the reason: a developer without the tool still runs the rest.
 * In CI (`CI=true`, where `.ci/run` installs every tool) a missing tool fails the test instead of hiding it.
 */
export function needTool(t: TestContext, name: string, install: string): string | undefined {
  return requireTool(t, name, findTool(name), install);
}

/** needTool for a tool found some other way (`found`: its path, or undefined when absent), e.g. a browser. */
export function requireTool(
  t: TestContext,
  name: string,
  found: string | undefined,
  install: string,
): string | undefined {
  if (found !== undefined) return found;
  t.skip(missingToolReason(name, install, process.env));
  return undefined;
}

/**
 * Why a test skips for a missing tool; in CI (`CI=true` in `env`) it throws instead, so the test fails and says
 * what is missing and how to install it: a failed install in `.ci/run` must never pass as a green run.
 */
export function missingToolReason(name: string, install: string, env: NodeJS.ProcessEnv): string {
  const why = `${name} is not installed (${install})`;
  if (env.CI === 'true')
    throw new Error(`${why}; .ci/run should have installed it, and CI=true makes a missing tool a failure`);
  return why;
}

/** Runs a tool; resolves with its output, rejects with stdout and stderr in the message when it exits non-zero. */
export async function runTool(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}
