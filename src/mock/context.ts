import type { PromptCache } from './prompt-cache.ts';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedOptions } from './options.ts';
import type { SlidingWindowLimiter } from './rate-limit.ts';
import type { SlotPool } from './slots.ts';
import type { StatsRecorder } from './stats.ts';

/** Everything one running simulator shares between requests, built once by startMock(). */
export interface MockContext {
  readonly opts: ResolvedOptions;
  readonly stats: StatsRecorder;
  readonly slots: SlotPool;
  readonly events: EventEmitter;
  /** Headers added to every answer (x-mock-name). */
  readonly headers: Record<string, string>;
  /** Stop functions of requests still being answered, run by close() so no timer outlives the server. */
  readonly live: Set<() => void>;
  /** Generation requests seen (valid bodies), for `failEvery` and to index each request's seeded draws. */
  generations: number;
  nextId: number;
  /** Monotonic ms, for the rpm windows. */
  readonly now: () => number;
  /** Set only when rpm / perKeyRpm are configured (a feature that is off costs nothing per request). */
  readonly rpm: SlidingWindowLimiter | undefined;
  readonly keyRpm: SlidingWindowLimiter | undefined;
  /** The scheduled outage in force, if any (see outages.ts). */
  outage: 'refuse' | 'hang' | undefined;
  /** DeepSeek's context cache, simulated on a `deepseek` simulator only (usage's prompt_cache_hit_tokens). */
  readonly promptCache: PromptCache | undefined;
  /** Requests held unanswered by a 'hang' outage; destroyed when it ends. */
  readonly hung: Set<ServerResponse>;
}

/** One request as the handlers see it, after its body was read and parsed. */
export interface Exchange {
  readonly id: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** As received (with or without /v1), without the query string. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  /** For stats and per-key limits; never the full key. */
  readonly keyLabel: string;
}
