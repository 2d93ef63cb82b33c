import { MOCK_PROFILES, isProfileName, type MockProfileName } from '../mock/profiles.ts';
import { startMock, type MockOptions } from '../mock/server.ts';
import { intFlag, parseFlags, UsageError } from './args.ts';
import type { Command } from './command.ts';

const profileLines = Object.entries(MOCK_PROFILES)
  .map(([name, p]) => `  ${name.padEnd(6)} ${p.description}`)
  .join('\n');

const help = `Usage: spillway mock [--profile fast|busy|flaky] [--port N] [--host ADDR] [options]

Runs the LLM simulator alone: an OpenAI/DeepSeek-compatible server with deterministic answers, for tests,
chaos drills and demos. Serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models (also without
/v1), GET /mock/stats and POST /mock/reset. A request may ask for a failure in its body, e.g.
"mock": {"status": 503} or {"reset_after_tokens": 3} (see src/mock/faults.ts).

Profiles (flags below override a profile's values):
${profileLines}

Options:
  --profile NAME         one of the profiles above (default fast)
  --port N               listen port (default 9101; 0 picks a free one)
  --host ADDR            listen address (default 127.0.0.1)
  --ttft-ms N            time before the first token
  --token-ms N           time between tokens
  --slots N              requests served at once (default unlimited)
  --queue N              requests allowed to wait for a slot (default 0)
  --queue-timeout-ms N   a waiting request is refused after this (default 30000)
  --keep-alive-ms N      keep-alive interval while waiting, 0 = none (default 1000)
  --reject 429|503       status when slots and queue are full (default 503)
  --retry-after S        Retry-After seconds sent with refusals (default 1)
  --seed N               seed of the deterministic answers (default 1)
  --model NAME           model echoed when a request names none (default mock-model)
  --max-tokens N         answer length when a request has no max_tokens (default 16)
  --api-key K            require this bearer key (repeat for several)
  --per-key-concurrency N  a key with N requests in flight gets 429

Prints one line "spillway mock listening on URL (profile NAME)"; SIGINT or SIGTERM stops it.`;

const FLAGS = {
  profile: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'ttft-ms': { type: 'string' },
  'token-ms': { type: 'string' },
  slots: { type: 'string' },
  queue: { type: 'string' },
  'queue-timeout-ms': { type: 'string' },
  'keep-alive-ms': { type: 'string' },
  reject: { type: 'string' },
  'retry-after': { type: 'string' },
  seed: { type: 'string' },
  model: { type: 'string' },
  'max-tokens': { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  'per-key-concurrency': { type: 'string' },
} as const;

export const DEFAULT_MOCK_PORT = 9101;

/** argv → the profile and the options to start with. Throws UsageError (exit 2) on any mistake. */
export function parseMockArgs(argv: string[]): { profile: MockProfileName; options: MockOptions } {
  const { values: v } = parseFlags(argv, FLAGS);
  const profile = v.profile ?? 'fast';
  if (!isProfileName(profile)) {
    throw new UsageError(`--profile expects one of ${Object.keys(MOCK_PROFILES).join(', ')}, got "${profile}"`);
  }
  let reject: 429 | 503 | undefined;
  if (v.reject !== undefined) {
    if (v.reject !== '429' && v.reject !== '503') throw new UsageError(`--reject expects 429 or 503, got "${v.reject}"`);
    reject = v.reject === '429' ? 429 : 503;
  }
  const port = intFlag('port', v.port);
  if (port !== undefined && port > 65535) throw new UsageError(`--port expects 0-65535, got "${v.port}"`);
  const maxTokens = intFlag('max-tokens', v['max-tokens']);
  if (maxTokens === 0) throw new UsageError('--max-tokens expects at least 1');
  const flags: MockOptions = {
    host: v.host,
    port: port ?? DEFAULT_MOCK_PORT,
    ttftMs: intFlag('ttft-ms', v['ttft-ms']),
    tokenMs: intFlag('token-ms', v['token-ms']),
    slots: intFlag('slots', v.slots),
    queueSize: intFlag('queue', v.queue),
    queueTimeoutMs: intFlag('queue-timeout-ms', v['queue-timeout-ms']),
    keepAliveMs: intFlag('keep-alive-ms', v['keep-alive-ms']),
    reject,
    retryAfterS: intFlag('retry-after', v['retry-after']),
    seed: intFlag('seed', v.seed),
    model: v.model,
    defaultMaxTokens: maxTokens,
    apiKeys: v['api-key'],
    perKeyConcurrency: intFlag('per-key-concurrency', v['per-key-concurrency']),
    name: `mock-${profile}`,
  };
  const given = Object.fromEntries(Object.entries(flags).filter(([, x]) => x !== undefined));
  return { profile, options: { ...MOCK_PROFILES[profile].options, ...given } };
}

export const command: Command = {
  name: 'mock',
  summary: 'run the LLM simulator alone (profiles fast, busy, flaky) for tests, chaos drills and demos',
  help,
  async run(argv) {
    const { profile, options } = parseMockArgs(argv);
    let mock;
    try {
      mock = await startMock(options);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        const why = e.code === 'EADDRINUSE' ? 'the port is already in use (pass --port)' : e.code;
        process.stderr.write(`spillway mock: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${why}\n`);
        return 1;
      }
      throw err;
    }
    const server = mock;
    const stopped = new Promise<number>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(() => resolve(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // Announced only once the signal handlers are in place: a supervisor may stop us as soon as it reads this.
    process.stdout.write(`spillway mock listening on ${mock.url} (profile ${profile})\n`);
    return await stopped;
  },
};
