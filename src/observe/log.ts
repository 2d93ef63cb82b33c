import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Log lines are written once this many bytes wait, or at the latest after FLUSH_MS, and always on exit. Each
 * write is an async fs.write (a hand-off to libuv's thread pool: ~20 µs of CPU on these VMs whatever its size), so
 * fewer, larger writes are cheaper: 56 KB is about fifty request lines, well under a second of them at load.
 */
const BATCH_BYTES = 56 * 1024;
/** The most one write(2) takes (sonic-boom's maxWrite; its minLength must stay below it). */
const MAX_WRITE_BYTES = 64 * 1024;
const FLUSH_MS = 1000;

/** The message of the one line per request (server/http-server.ts, through requestLineWriter). */
export const REQUEST_LINE = 'request';

/**
 * A destination that writes log lines in batches instead of one write(2) per line: with one request line per
 * request, the per-line syscall was about 5% of the gateway's CPU per request at moderate load. pino
 * flushes it synchronously on exit, even after an uncaught exception; only a SIGKILL can lose the last second.
 */
export function batchedDestination(dest: number | string = 1): DestinationStream & { flush(): void } {
  const stream = pino.destination({
    dest,
    sync: false,
    minLength: BATCH_BYTES,
    maxWrite: MAX_WRITE_BYTES,
    contentMode: 'buffer',
  });
  // Lines kept as text would be appended to one growing string that sonic-boom measures (flattening it) on every
  // write and encodes twice per batch: about 1.5 µs per request line. As buffers, each line is encoded once and a
  // batch is one concat. pino writes text, so every line is turned into bytes on its way in.
  // (sonic-boom's types know only text; in buffer mode its write takes bytes.)
  const writeBytes = stream.write.bind(stream) as unknown as (bytes: Buffer) => boolean;
  stream.write = (line: string) => writeBytes(Buffer.from(line));
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
