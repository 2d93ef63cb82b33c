import type { MockOptions } from './options.ts';

/**
 * Named presets for `spillway mock --profile` and the offline demo. Each describes one kind of upstream a gateway
 * must cope with; flags given alongside a profile override its values.
 */
export interface MockProfile {
  readonly description: string;
  readonly options: Readonly<MockOptions>;
}

export const MOCK_PROFILES = {
  fast: {
    description: 'no latency, no limits: answers at once (the benchmark baseline)',
    options: { ttftMs: 0, tokenMs: 0 },
  },
  busy: {
    description:
      'a loaded DeepSeek-like server: 4 slots, 16 queued with keep-alives, ttft 300ms, 20ms/token, 503 when full',
    options: { slots: 4, queueSize: 16, ttftMs: 300, tokenMs: 20, reject: 503 },
  },
  flaky: {
    description: 'a mid-size server that fails: 16 slots, ttft 100ms, 10ms/token, every 10th request a 500 or a reset',
    options: { slots: 16, ttftMs: 100, tokenMs: 10, failEvery: 10 },
  },
  storm: {
    description:
      'busy + flaky + rate limited: 8 slots, 16 queued, ttft 200ms +25ms per busy slot, 15ms/token ±20%, ' +
      '600 rpm, ~10% seeded faults (500s, resets, stalls, slow tokens), keeps generating after aborts',
    options: {
      slots: 8,
      queueSize: 16,
      ttftMs: 200,
      ttftPerInFlightMs: 25,
      tokenMs: 15,
      jitterPct: 20,
      reject: 503,
      rpm: 600,
      continueAfterAbort: true,
      faults: {
        error500: 0.03,
        resetBeforeHeaders: 0.01,
        resetMidStream: 0.03,
        stall: 0.01,
        slowTokens: 0.02,
        slowTokenMs: 150,
      },
    },
  },
} as const satisfies Record<string, MockProfile>;

export type MockProfileName = keyof typeof MOCK_PROFILES;

export function isProfileName(name: string): name is MockProfileName {
  return Object.hasOwn(MOCK_PROFILES, name);
}
