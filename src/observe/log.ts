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
      paths: ['apiKey', 'api_key', '*.apiKey', '*.api_key', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
