import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../errors.ts';
import { parseFleetText } from '../mock/fleet-file.ts';
import type { FleetSpec } from '../mock/fleet.ts';
import type { Mix, RateCurve } from './arrivals.ts';
import { DEFAULT_CLIENT, type ClientMode } from './client.ts';
import { fleetCapacityRps } from './demo-fleet.ts';

/**
 * A storm scenario (bench/scenarios/*.yaml): a simulated fleet, the Spillway config in front of it, and the
 * open-loop load. The fleet section is a `spillway mock --fleet` file; the gateway section is a Spillway config
 * whose upstreams get their `url` (and keys) from the fleet upstream of the same name.
 */
export interface Scenario {
  name: string;
  description: string;
  durationS: number;
  seed: number;
  /** Requests per second over time (already converted from multiples of capacity). */
  curve: RateCurve;
  mix: Mix;
  fleetYaml: string;
  fleet: FleetSpec;
  gateway: Record<string, unknown>;
  /** Total service capacity of the fleet in requests per second (what `x_capacity` rates multiply). */
  capacityRps: number;
  /** `unknown`: the gateway is told no `max_concurrency` (the usual DeepSeek user: no published limit). */
  caps: 'known' | 'unknown';
  /** How the storm's clients behave (deadline header, SDK-like retries). */
  client: ClientMode;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['description', 'duration_s', 'rate', 'mix', 'fleet', 'gateway'],
  properties: {
    based_on: { type: 'string' },
    caps: { enum: ['known', 'unknown'] },
    fleet_patch: { type: 'object', additionalProperties: { type: 'object' } },
    client: {
      type: 'object',
      additionalProperties: false,
      properties: { deadline_header: { enum: ['stainless', 'spillway', 'both'] }, sdk_retries: { type: 'boolean' } },
    },
    description: { type: 'string' },
    duration_s: { type: 'number', exclusiveMinimum: 0 },
    seed: { type: 'integer' },
    rate_unit: { enum: ['x_capacity', 'rps'] },
    rate: {
      type: 'array',
      minItems: 1,
      items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number', minimum: 0 } },
    },
    mix: {
      type: 'object',
      additionalProperties: false,
      required: ['max_tokens', 'deadline_s'],
      properties: {
        stream: { type: 'number', minimum: 0, maximum: 1 },
        max_tokens: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 1 } },
        prompt_tokens: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 1 } },
        priorities: {
          type: 'object',
          additionalProperties: { type: 'number', minimum: 0 },
          propertyNames: { enum: ['high', 'normal', 'low'] },
        },
        deadline_s: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    fleet: { type: 'object' },
    gateway: { type: 'object' },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/**
 * A scenario file may start from another (`based_on: overload.yaml`, relative to it): its own top-level keys
 * replace the base's, whole. `fleet_patch` then merges keys into fleet upstreams by name (`'*'`: every one), so
 * a variant says only what differs — the fault matrix is one base fleet and one line of fault per file.
 */
function readRaw(file: string, seen: readonly string[] = []): Record<string, unknown> {
  if (seen.includes(file)) throw new ConfigError(file, [`based_on: a loop (${[...seen, file].join(' → ')})`]);
  const raw = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  if (typeof raw.based_on !== 'string') return raw;
  const { based_on: base, ...own } = raw;
  return { ...readRaw(resolve(dirname(file), base), [...seen, file]), ...own };
}

function patchFleet(
  fleet: Record<string, unknown>,
  patch: Record<string, Record<string, unknown>> | undefined,
  file: string,
): Record<string, unknown> {
  if (patch === undefined) return fleet;
  const ups = ((fleet.upstreams ?? []) as Record<string, unknown>[]).map((u) => ({
    ...u,
    ...patch['*'],
    ...patch[String(u.name)],
  }));
  const unknown = Object.keys(patch).filter((k) => k !== '*' && !ups.some((u) => u.name === k));
  if (unknown.length > 0)
    throw new ConfigError(file, [`fleet_patch: ${unknown.join(', ')} is not an upstream of the fleet`]);
  return { ...fleet, upstreams: ups };
}

export function loadScenario(file: string): Scenario {
  const raw = readRaw(file);
  if (!validate(raw)) {
    throw new ConfigError(
      file,
      (validate.errors ?? []).map((e) => `${e.instancePath || '(top level)'}: ${e.message ?? 'invalid'}`),
    );
  }
  const r = raw as unknown as {
    description: string;
    duration_s: number;
    seed?: number;
    rate_unit?: 'x_capacity' | 'rps';
    rate: [number, number][];
    mix: {
      stream?: number;
      max_tokens: [number, number];
      prompt_tokens?: [number, number];
      priorities?: Mix['priorities'];
      deadline_s: number;
    };
    fleet: Record<string, unknown>;
    gateway: Record<string, unknown>;
    caps?: 'known' | 'unknown';
    fleet_patch?: Record<string, Record<string, unknown>>;
    client?: { deadline_header?: ClientMode['deadlineHeader']; sdk_retries?: boolean };
  };
  const fleetYaml = stringify(patchFleet(r.fleet, r.fleet_patch, file));
  const fleet = parseFleetText(fleetYaml, `${file} (fleet)`);
  const meanTokens = (r.mix.max_tokens[0] + r.mix.max_tokens[1]) / 2;
  const prompts = r.mix.prompt_tokens;
  const capacityRps = fleetCapacityRps(fleet, meanTokens, prompts === undefined ? 0 : (prompts[0] + prompts[1]) / 2);
  const scale = r.rate_unit === 'rps' ? 1 : capacityRps;
  return {
    name: basename(file).replace(/\.ya?ml$/, ''),
    description: r.description,
    durationS: r.duration_s,
    seed: r.seed ?? 1,
    curve: r.rate.map(([t, x]) => [t, x * scale] as const),
    mix: {
      stream: r.mix.stream ?? 0.5,
      maxTokens: r.mix.max_tokens,
      ...(prompts !== undefined && { promptTokens: prompts }),
      priorities: r.mix.priorities ?? { normal: 1 },
      deadlineS: r.mix.deadline_s,
    },
    fleetYaml,
    fleet,
    gateway: r.gateway,
    capacityRps,
    caps: r.caps ?? 'known',
    client: {
      deadlineHeader: r.client?.deadline_header ?? DEFAULT_CLIENT.deadlineHeader,
      sdkRetries: r.client?.sdk_retries ?? DEFAULT_CLIENT.sdkRetries,
    },
  };
}

/**
 * The scenario's gateway config with each upstream's url (and keys) taken from the fleet upstream of its name.
 * With caps unknown, every `max_concurrency` (upstreams' and keys') is left out: the gateway must learn them.
 */
export function gatewayConfigFor(s: Scenario, urls: Record<string, string>): Record<string, unknown> {
  const g = structuredClone(s.gateway);
  const ups = (g.upstreams ?? []) as Record<string, unknown>[];
  for (const u of ups) {
    if (s.caps === 'unknown') {
      delete u.max_concurrency;
      for (const k of (u.keys ?? []) as Record<string, unknown>[]) delete k.max_concurrency;
    }
    const name = String(u.name);
    const url = urls[name];
    if (url === undefined)
      throw new ConfigError(s.name, [
        `gateway.upstreams: "${name}" is not an upstream of the fleet (${Object.keys(urls).join(', ')})`,
      ]);
    u.url ??= `${url}/v1`;
    const keys = s.fleet.upstreams.find((f) => f.name === name)?.apiKeys;
    if (u.api_key === undefined && u.keys === undefined && keys !== undefined && keys.length > 0) {
      u.keys = keys.map((key, i) => ({ key, name: `key${i + 1}` }));
    }
  }
  return g;
}
