import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A temporary jobs.data_dir, removed when the test ends. */
export function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-jobs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The default test config (one model "chat" on every mock) with jobs on. */
export function jobsConfig(
  urls: string[],
  jobs: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    upstreams: urls.map((u, i) => ({ name: `mock${i}`, url: `${u}/v1`, max_concurrency: 64 })),
    models: { chat: { routes: urls.map((_u, i) => ({ upstream: `mock${i}`, model: 'chat' })) } },
    jobs: { enabled: true, poll_interval: '50ms', ...jobs },
    ...extra,
  };
}

/** Polls `read` until `done` says so, at most `maxTries` times `everyMs` apart (job status is polled, as clients do). */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  maxTries = 600,
  everyMs = 50,
): Promise<T> {
  let v = await read();
  for (let i = 0; i < maxTries && !done(v); i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    v = await read();
  }
  return v;
}
