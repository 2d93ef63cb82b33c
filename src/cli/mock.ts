import { ConfigError } from '../errors.ts';
import { MOCK_PROFILES, isProfileName, type MockProfileName } from '../mock/profiles.ts';
import type { FaultRates, MockOptions } from '../mock/server.ts';
import type { MockApi } from '../mock/options.ts';
import { intFlag, parseFlags, UsageError } from './args.ts';
import type { Command } from './command.ts';

const profileLines = Object.entries(MOCK_PROFILES)
  .map(([name, p]) => `  ${name.padEnd(6)} ${p.description}`)
  .join('\n');

const help = `Usage: spillway mock [--profile fast|busy|flaky|storm] [--port N] [--host ADDR] [options]
       spillway mock --fleet FILE

Runs the LLM simulator: an OpenAI/DeepSeek-compatible server with deterministic answers, for tests, chaos drills
and demos. Serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models (also without /v1),
GET /mock/stats and POST /mock/reset. A request may ask for a failure in its body, e.g. "mock": {"status": 503}
or {"reset_after_tokens": 3}. Every option, the fleet file format and the stats: docs/mock.md.

Profiles (flags below override a profile's values):
${profileLines}

Options:
  --profile NAME         one of the profiles above (default fast)
  --fleet FILE           start every upstream listed in a YAML fleet file instead (no other flags)
  --port N               listen port (default 9101; 0 picks a free one)
  --host ADDR            listen address (default 127.0.0.1)
  --ttft-ms N            time before the first token
  --ttft-per-inflight-ms N  TTFT grows by N ms per other request being answered
  --ttft-per-1k-prompt-ms N TTFT grows by N ms per 1 000 prompt tokens (a long prompt's prefill)
  --token-ms N           time between tokens
  --jitter-pct N         every delay varies within ±N% (seeded)
  --slots N              requests served at once (default unlimited)
  --queue N              requests allowed to wait for a slot (default 0)
  --queue-timeout-ms N   a waiting request is refused after this (default 30000)
  --keep-alive-ms N      keep-alive interval while waiting, 0 = none (default 1000)
  --reject 429|503|529   status when slots and queue are full (default 503; 529: Anthropic's overloaded)
  --api openai|anthropic|both  APIs served: chat completions, the Messages API (/v1/messages), or both
  --responses            serve the OpenAI Responses API (/v1/responses) too
  --retry-after S        Retry-After seconds sent with refusals (default 1)
  --rpm N                requests per sliding minute, all keys (429 with the exact Retry-After)
  --per-key-rpm N        requests per sliding minute per API key
  --seed N               seed of the answers, fault draws and jitter (default 1)
  --fault-seed N         seed of the fault draws and jitter only (default: --seed)
  --model NAME           model echoed when a request names none (default mock-model)
  --max-tokens N         answer length when a request has no max_tokens (default 16)
  --api-key K            require this bearer key (repeat for several)
  --per-key-concurrency N  a key with N requests in flight gets 429
  --fault-500 P          probability of a 500 answer (0-1; seeded, per request)
  --fault-reset P        probability of a reset before any header
  --fault-reset-mid P    probability of a reset after some tokens
  --fault-stall P        probability of a stall (headers, maybe some tokens, then silence)
  --fault-slow P         probability of slow tokens (see --slow-token-ms, default 200)
  --slow-token-ms N      time between tokens of a slow-tokens request
  --continue-after-abort keep generating after the client left (counted in completedAfterClientGone)

Prints one line "spillway mock listening on URL (profile NAME)", or with --fleet one line per upstream
"NAME listening on URL"; SIGINT or SIGTERM stops it.`;

const FLAGS = {
  profile: { type: 'string' },
  fleet: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'ttft-ms': { type: 'string' },
  'ttft-per-inflight-ms': { type: 'string' },
  'ttft-per-1k-prompt-ms': { type: 'string' },
  'token-ms': { type: 'string' },
  'jitter-pct': { type: 'string' },
  slots: { type: 'string' },
  queue: { type: 'string' },
  'queue-timeout-ms': { type: 'string' },
  'keep-alive-ms': { type: 'string' },
  reject: { type: 'string' },
  api: { type: 'string' },
  'retry-after': { type: 'string' },
  rpm: { type: 'string' },
  'per-key-rpm': { type: 'string' },
  seed: { type: 'string' },
  'fault-seed': { type: 'string' },
  model: { type: 'string' },
  'max-tokens': { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  'per-key-concurrency': { type: 'string' },
  'fault-500': { type: 'string' },
  'fault-reset': { type: 'string' },
  'fault-reset-mid': { type: 'string' },
  'fault-stall': { type: 'string' },
  'fault-slow': { type: 'string' },
  'slow-token-ms': { type: 'string' },
  'continue-after-abort': { type: 'boolean' },
  responses: { type: 'boolean' },
} as const;

export const DEFAULT_MOCK_PORT = 9101;

function probabilityFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const p = Number(v);
  if (v.trim() === '' || !(p >= 0 && p <= 1))
    throw new UsageError(`--${name} expects a probability from 0 to 1, got "${v}"`);
  return p;
}

function positiveFlag(name: string, v: string | undefined): number | undefined {
  const n = intFlag(name, v);
  if (n === 0) throw new UsageError(`--${name} expects at least 1`);
  return n;
}

/**
 * argv → the profile and the options to start with, or the fleet file to read. Throws UsageError (exit 2) on any
 * mistake. Fault rates given as flags are merged into the profile's rates, one by one.
 */
export function parseMockArgs(argv: string[]): { profile: MockProfileName; options: MockOptions; fleet?: string } {
  const { values: v } = parseFlags(argv, FLAGS);
  if (v.fleet !== undefined) {
    const others = Object.keys(v).filter((k) => k !== 'fleet');
    if (others.length > 0)
      throw new UsageError(`--fleet takes every setting from the file; remove --${others.join(', --')}`);
    return { profile: 'fast', options: {}, fleet: v.fleet };
  }
  const profile = v.profile ?? 'fast';
  if (!isProfileName(profile)) {
    throw new UsageError(`--profile expects one of ${Object.keys(MOCK_PROFILES).join(', ')}, got "${profile}"`);
  }
  let reject: 429 | 503 | 529 | undefined;
  if (v.reject !== undefined) {
    if (v.reject !== '429' && v.reject !== '503' && v.reject !== '529')
      throw new UsageError(`--reject expects 429, 503 or 529, got "${v.reject}"`);
    reject = Number(v.reject) as 429 | 503 | 529;
  }
  if (v.api !== undefined && v.api !== 'openai' && v.api !== 'anthropic' && v.api !== 'both')
    throw new UsageError(`--api expects openai, anthropic or both, got "${v.api}"`);
  const api: MockApi | undefined = v.api;
  const port = intFlag('port', v.port);
  if (port !== undefined && port > 65535) throw new UsageError(`--port expects 0-65535, got "${v.port}"`);
  const jitterPct = intFlag('jitter-pct', v['jitter-pct']);
  if (jitterPct !== undefined && jitterPct > 100)
    throw new UsageError(`--jitter-pct expects 0-100, got "${v['jitter-pct']}"`);
  const faults = dropUndefined<FaultRates>({
    error500: probabilityFlag('fault-500', v['fault-500']),
    resetBeforeHeaders: probabilityFlag('fault-reset', v['fault-reset']),
    resetMidStream: probabilityFlag('fault-reset-mid', v['fault-reset-mid']),
    stall: probabilityFlag('fault-stall', v['fault-stall']),
    slowTokens: probabilityFlag('fault-slow', v['fault-slow']),
    slowTokenMs: intFlag('slow-token-ms', v['slow-token-ms']),
  });
  const base: MockOptions = MOCK_PROFILES[profile].options;
  const given = dropUndefined<MockOptions>({
    host: v.host,
    port: port ?? DEFAULT_MOCK_PORT,
    ttftMs: intFlag('ttft-ms', v['ttft-ms']),
    ttftPerInFlightMs: intFlag('ttft-per-inflight-ms', v['ttft-per-inflight-ms']),
    ttftPer1kPromptTokensMs: intFlag('ttft-per-1k-prompt-ms', v['ttft-per-1k-prompt-ms']),
    tokenMs: intFlag('token-ms', v['token-ms']),
    jitterPct,
    slots: intFlag('slots', v.slots),
    queueSize: intFlag('queue', v.queue),
    queueTimeoutMs: intFlag('queue-timeout-ms', v['queue-timeout-ms']),
    keepAliveMs: intFlag('keep-alive-ms', v['keep-alive-ms']),
    reject,
    api,
    retryAfterS: intFlag('retry-after', v['retry-after']),
    rpm: positiveFlag('rpm', v.rpm),
    perKeyRpm: positiveFlag('per-key-rpm', v['per-key-rpm']),
    seed: intFlag('seed', v.seed),
    faultSeed: intFlag('fault-seed', v['fault-seed']),
    model: v.model,
    defaultMaxTokens: positiveFlag('max-tokens', v['max-tokens']),
    apiKeys: v['api-key'],
    perKeyConcurrency: intFlag('per-key-concurrency', v['per-key-concurrency']),
    continueAfterAbort: v['continue-after-abort'],
    responses: v.responses,
    faults: Object.keys(faults).length === 0 ? undefined : { ...base.faults, ...faults },
    name: `mock-${profile}`,
  });
  return { profile, options: { ...base, ...given } };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

export const command: Command = {
  name: 'mock',
  summary:
    'run the LLM simulator (profiles fast, busy, flaky, storm; or a fleet from YAML) for tests, drills and demos',
  help,
  async run(argv) {
    const { profile, options, fleet } = parseMockArgs(argv);
    // Loaded when the command runs, not when the CLI starts: `spillway start` lists this command but never runs it.
    const [{ FleetError, startFleet }, { startMock }] = await Promise.all([
      import('../mock/fleet.ts'),
      import('../mock/server.ts'),
    ]);
    let close: () => Promise<void>;
    let lines: string[];
    try {
      if (fleet !== undefined) {
        const { loadFleetFile } = await import('../mock/fleet-file.ts');
        const started = await startFleet(loadFleetFile(fleet));
        close = () => started.close();
        lines = started.upstreams.map((u) => `${u.name} listening on ${u.url}`);
      } else {
        const mock = await startMock(options);
        close = () => mock.close();
        lines = [`spillway mock listening on ${mock.url} (profile ${profile})`];
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        const why = e.code === 'EADDRINUSE' ? 'the port is already in use (pass --port)' : e.code;
        process.stderr.write(
          `spillway mock: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${why}\n`,
        );
        return 1;
      }
      // Printed here rather than by main(), so the command behaves the same when run on its own (tests).
      if (err instanceof FleetError || err instanceof ConfigError) {
        process.stderr.write(`spillway mock: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const stopped = new Promise<number>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void close().then(() => resolve(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // Announced only once the signal handlers are in place: a supervisor may stop us as soon as it reads this.
    process.stdout.write(`${lines.join('\n')}\n`);
    return await stopped;
  },
};
