import { isIP } from 'node:net';
import type { Config } from './types.ts';
import { ConfigError } from '../errors.ts';

/**
 * Safe defaults where the gateway listens: on any address but loopback, anyone who can reach the port could
 * spend the upstream keys (no `auth.keys`) or drain, reload and read the gateway (no `admin.key`). Spillway
 * refuses to start that way unless the config says, in so many words, that this is wanted
 * (`server.allow_unauthenticated: true`) — a refusal, not a warning, because warnings in a container log are
 * read after the bill arrives.
 */
export interface Exposure {
  host: string;
  allowUnauthenticated: boolean;
  gatewayKeys: number;
  adminKey: string | null;
}

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and the name `localhost`.
 * Any other name is taken as reachable from outside: it may resolve to anything.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') && isIP(h.slice(7)) === 4 ? h.slice(7) : h;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Problems (one line each, in the config error's style) with listening on `e.host` as configured. `where` names
 * the setting that chose the host (`server.host`, or the `--host` option) and `line` its location in the file.
 */
export function exposureProblems(e: Exposure, where: string, line = ''): string[] {
  if (e.allowUnauthenticated || isLoopbackHost(e.host)) return [];
  const missing: string[] = [];
  if (e.gatewayKeys === 0)
    missing.push('auth.keys (gateway keys: without them anyone who reaches the port spends the upstream keys)');
  if (e.adminKey === null)
    missing.push('admin.key (without it anyone who reaches the port can drain, reload and read the gateway)');
  if (missing.length === 0) return [];
  return [
    `${where}${line}: got "${e.host}", which is not a loopback address, so Spillway refuses to start without ${missing.join(' and ')}; ` +
      'expected those keys to be set, or server.host: 127.0.0.1, or server.allow_unauthenticated: true to accept an open gateway',
  ];
}

/**
 * Throws the config error for listening on `host` with `config` when that exposes the gateway. The loader checks
 * server.host; this also catches `--host` and configs built without the loader, at startup and on every reload.
 */
export function refuseOpenExposure(config: Config, host: string, hostOption: string | undefined): void {
  const where = hostOption === undefined ? 'server.host' : 'the --host option';
  const problems = exposureProblems(
    {
      host,
      allowUnauthenticated: config.server.allowUnauthenticated,
      gatewayKeys: config.auth.keys.length,
      adminKey: config.admin.key,
    },
    where,
  );
  if (problems.length > 0) throw new ConfigError(config.source, problems);
}
