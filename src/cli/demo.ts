import type { DemoOptions } from '../storm/demo-run.ts';
import { intFlag, parseFlags, UsageError } from './args.ts';
import type { Command } from './command.ts';

const help = `Usage: spillway demo [--duration S] [--seed N] [--rate-x F] [--port N] [--deadline S] [--log-level L]

Offline, no keys: starts two identical simulated fleets that are busy and flaky (three upstreams with few slots,
small queues, 503 and 429 refusals, seeded 500s, resets before and in the middle of streams, stalls, and one
upstream that refuses connections for a while), puts Spillway in front of one of them, and sends the same seeded
traffic (about 1.3x the fleet's capacity, with a burst at twice that) at the same time straight to the other
fleet (a client without a gateway, spread over its upstreams, no retries) and through Spillway. Every answer is
checked: a success is a 200 with the complete, correct answer.

A live view refreshes every second (redrawn in place on a terminal; plain lines every 5 s otherwise): per side,
requests sent and answered, success %, p99 latency of successes, errors by reason, silent truncations. After the
duration (or Ctrl-C) it stops sending, waits for the answers in flight (at most --deadline), prints a summary
table — direct, Spillway, and the best possible: the same arrivals replayed offline on the fleet's pooled slots in
deadline order, what any scheduler could have finished in time — and exits 0. A second Ctrl-C quits at once.

Options:
  --duration S    seconds of traffic (default 60)
  --seed N        seed of the traffic, the answers and the faults (default 1)
  --rate-x F      load as a multiple of the fleet's capacity (default 1.3)
  --port N        gateway port (default 0: any free port; the URL is printed)
  --deadline S    each client request's deadline in seconds, as the OpenAI SDKs send it (default 15)
  --log-level L   gateway log level, written to stderr (default silent)

How to read the numbers, and the storm bench behind them: docs/storm.md.`;

const FLAGS = {
  duration: { type: 'string' },
  seed: { type: 'string' },
  'rate-x': { type: 'string' },
  port: { type: 'string' },
  deadline: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** What the command line sets: every demo option but where the output goes. */
type DemoArgs = Omit<DemoOptions, 'out'>;

function positiveNumber(name: string, v: string | undefined, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !(n > 0 && n <= max))
    throw new UsageError(`--${name} expects a number above 0 and at most ${max}, got "${v}"`);
  return n;
}

function parseDemoArgs(argv: string[]): DemoArgs {
  const { values: v } = parseFlags(argv, FLAGS);
  const port = intFlag('port', v.port) ?? 0;
  if (port > 65535) throw new UsageError(`--port expects 0-65535, got "${v.port}"`);
  const logLevel = v['log-level'] ?? 'silent';
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level expects one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  return {
    durationS: positiveNumber('duration', v.duration, 60, 3600),
    seed: intFlag('seed', v.seed) ?? 1,
    // Above ~4x the one process (two fleets, a gateway, two load generators) would measure its own CPU, not Spillway.
    rateX: positiveNumber('rate-x', v['rate-x'], 1.3, 4),
    port,
    deadlineS: positiveNumber('deadline', v.deadline, 15, 600),
    logLevel,
  };
}

export const command: Command = {
  name: 'demo',
  summary: 'offline demo: the same storm straight at a busy, flaky simulated fleet and through Spillway, side by side',
  help,
  async run(argv) {
    const args = parseDemoArgs(argv);
    const abort = new AbortController();
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts++;
      if (interrupts === 1) {
        process.stderr.write(
          `\n${signal}: stopping the traffic; waiting for the answers in flight (${signal} again quits at once)\n`,
        );
        abort.abort();
        return;
      }
      // The second signal: give the process back its default behaviour and re-raise, so it dies at once.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let gatewayUrl = '';
    try {
      // Loaded when the demo runs: the storm machinery is no part of the other commands.
      const { runDemo } = await import('../storm/demo-run.ts');
      const { table } = await runDemo({
        ...args,
        out: process.stdout,
        signal: abort.signal,
        onGateway: (gw) => (gatewayUrl = gw.url),
      });
      process.stdout.write(
        `\n${table}\n\nSuccess = status 200 and the complete, correct answer. How to read this: docs/storm.md\n`,
      );
      return 0;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (gatewayUrl === '' && (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')) {
        const why = e.code === 'EADDRINUSE' ? 'the port is already in use (pass another --port, or 0)' : e.code;
        process.stderr.write(`spillway demo: cannot listen on 127.0.0.1:${args.port}: ${why}\n`);
        return 1;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
