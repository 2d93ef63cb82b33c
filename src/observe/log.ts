import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Log lines are written once this many bytes wait, or at the latest after FLUSH_MS, and always on exit. Below
 * sonic-boom's 16 KB maxWrite; three times fewer write(2)s than 4 KB at one line per request.
 */
const BATCH_BYTES = 12 * 1024;
const FLUSH_MS = 1000;

/** The message of the one line per request (server/http-server.ts, through requestLineWriter). */
export const REQUEST_LINE = 'request';

/**
 * A destination that writes log lines in batches instead of one write(2) per line: with one request line per
 * request, the per-line syscall was about 5% of the gateway's CPU per request at moderate load. pino
 * flushes it synchronously on exit, even after an uncaught exception; only a SIGKILL can lose the last second.
 */
export function batchedDestination(dest: number | string = 1): DestinationStream & { flush(): void } {
  const stream = pino.destination({ dest, sync: false, minLength: BATCH_BYTES });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Destroyed (the process is exiting): nothing left to flush.
    }
  }, FLUSH_MS);
  timer.unref();
  stream.on('close', () => clearInterval(timer));
  return stream;
}

/**
 * Writes the one line per request as pino would (same level, time, bindings and field order, `"msg":"request"`),
 * with one JSON.stringify of a flat object instead of pino's per-field serialisation and redaction walk: it is the
 * hottest line the gateway writes, and its fields are fixed and carry no secret (no headers, no keys).
 */
export function requestLineWriter(log: Logger): (fields: object) => void {
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as DestinationStream;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const level = log.levels.values.info ?? 30;
  return (fields) => {
    if (!log.isLevelEnabled('info')) return;
    const json = JSON.stringify(fields);
    stream.write(
      `{"level":${level},"time":${Date.now()}${bindings}${json.length > 2 ? `,${json.slice(1, -1)}` : ''},"msg":"${REQUEST_LINE}"}\n`,
    );
  };
}

/**
 * pino, with every place a secret could hide redacted. Upstream keys are never logged on purpose either; this
 * is the second fence. Without a destination, lines go to stdout in batches (`batchedDestination`).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'spillway' },
    redact: {
      // Exact paths only: wildcard paths are walked on every line, a measurable cost with one line per request.
      paths: [
        'apiKey',
        'api_key',
        'authorization',
        'headers.authorization',
        'req.headers.authorization',
        'err.headers.authorization',
        'config.apiKey',
      ],
      censor: '[redacted]',
    },
  };
  if (destination !== undefined) return pino(options, destination);
  if (level === 'silent') return pino(options);
  const stream = batchedDestination();
  return pino(
    {
      ...options,
      hooks: {
        // Request lines (requestLineWriter, which writes to the stream directly) wait for their batch; every line
        // logged through pino (start-up, warnings, errors, drain) goes out at once, taking the waiting ones with it.
        logMethod(args, method) {
          method.apply(this, args);
          stream.flush();
        },
      },
    },
    stream,
  );
}
