import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * pino, with every place a secret could hide redacted. Upstream keys are never logged on purpose either; this
 * is the second fence.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'spillway' },
    redact: {
      // Exact paths only: wildcard paths are walked on every line, a measurable cost with one line per request.
      paths: ['apiKey', 'api_key', 'authorization', 'headers.authorization', 'req.headers.authorization', 'err.headers.authorization', 'config.apiKey'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
