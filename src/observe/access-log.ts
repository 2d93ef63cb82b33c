import { basename, dirname, resolve } from 'node:path';
import { once } from 'node:events';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { Config } from '../config/types.ts';
import type { Logger } from './log.ts';
import type { FinishedRequest } from './request-log.ts';

type AccessFileConfig = NonNullable<Config['log']['accessFile']>;

/**
 * The opt-in access log: one JSON line per finished request, appended to a file that rotating-file-stream rotates
 * by size (and optionally by time) into file.1 … file.N. A separate file from the process log, so it can be
 * shipped, kept and rotated on its own terms. A write error is logged once and does not fail requests.
 */
export class AccessLog {
  readonly settings: AccessFileConfig;
  /** The rotating stream: it emits 'rotated' (with the rotated file's name) after each rotation. */
  readonly stream: RotatingFileStream;
  private failed = false;

  constructor(settings: AccessFileConfig, log: Logger) {
    this.settings = settings;
    const file = resolve(settings.path);
    this.stream = createStream(basename(file), {
      path: dirname(file),
      size: settings.maxSize as `${number}M`,
      rotate: settings.keep,
      ...(settings.interval === null ? {} : { interval: settings.interval as `${number}d` }),
    });
    this.stream.on('error', (err: Error) => {
      if (!this.failed)
        log.error({ file, err: err.message }, 'cannot write the access log file; requests are still served');
      this.failed = true;
    });
  }

  write(r: FinishedRequest, atMs: number): void {
    this.stream.write(`{"time":"${new Date(atMs).toISOString()}",${JSON.stringify(r).slice(1)}\n`);
  }

  /** Flushes and closes the file (on shutdown, or when a reload changes the access log settings). */
  async close(): Promise<void> {
    if (this.stream.destroyed || this.stream.closed) return;
    const done = once(this.stream, 'finish').catch(() => undefined);
    this.stream.end();
    await done;
  }

  /** True when `settings` would open the same file the same way (a reload keeps this one). */
  same(settings: AccessFileConfig | null): boolean {
    return settings !== null && JSON.stringify(settings) === JSON.stringify(this.settings);
  }
}
