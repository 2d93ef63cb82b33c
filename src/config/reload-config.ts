import type { Config } from './types.ts';
import { loadConfigFile } from './load.ts';
import { ConfigError, SpillwayError } from '../errors.ts';

/**
 * Reads the config file again for a reload. No file (a zero-config start) and an invalid file become the admin
 * API's errors; the ConfigError's message, which names every problem, is kept word for word.
 */
export function readConfigForReload(file: string | undefined): Config {
  if (file === undefined) {
    throw new SpillwayError(
      'reload_unavailable',
      'This gateway was started without a config file (zero-config), so there is no file to reload; restart it with --config FILE.',
    );
  }
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new SpillwayError('config_invalid', `${err.message}\nThe config in force was kept.`, { cause: err });
    throw err;
  }
}

/**
 * These change only with a restart: the listener is bound once, and the answer cache (its entries, flights and
 * Redis connections), the trace exporter, async jobs (their store and runner) and stored responses live as long
 * as the process.
 */
const RESTART_ONLY: [string, (c: Config) => unknown][] = [
  ['server.host', (c) => c.server.host],
  ['server.port', (c) => c.server.port],
  ['server.upload_timeout', (c) => c.server.uploadTimeoutMs],
  ['cache', (c) => JSON.stringify(c.cache)],
  ['tracing', (c) => JSON.stringify(c.tracing)],
  ['jobs', (c) => JSON.stringify(c.jobs)],
  ['responses', (c) => JSON.stringify(c.responses)],
];

/** Top-level sections that differ between two configs, and the changed settings only a restart applies. */
export function configChanges(a: Config, b: Config): { changed: string[]; restartNeeded: string[] } {
  const ra = a.raw as Record<string, unknown>;
  const rb = b.raw as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return {
    changed: [...keys].filter((k) => JSON.stringify(ra[k]) !== JSON.stringify(rb[k])),
    restartNeeded: RESTART_ONLY.filter(([, get]) => get(a) !== get(b)).map(([k]) => k),
  };
}
