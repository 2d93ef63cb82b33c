import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../errors.ts';
import { parseFleetText } from '../mock/fleet-file.ts';
import type { FleetSpec } from '../mock/fleet.ts';
import type { Mix, RateCurve } from './arrivals.ts';
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
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['description', 'duration_s', 'rate', 'mix', 'fleet', 'gateway'],
  properties: {
    description: { type: 'string' },
    duration_s: { type: 'number', exclusiveMinimum: 0 },
    seed: { type: 'integer' },
    rate_unit: { enum: ['x_capacity', 'rps'] },
    rate: { type: 'array', minItems: 1, items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number', minimum: 0 } } },
    mix: {
      type: 'object',
      additionalProperties: false,
      required: ['max_tokens', 'deadline_s'],
      properties: {
        stream: { type: 'number', minimum: 0, maximum: 1 },
        max_tokens: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 1 } },
        priorities: { type: 'object', additionalProperties: { type: 'number', minimum: 0 }, propertyNames: { enum: ['high', 'normal', 'low'] } },
        deadline_s: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    fleet: { type: 'object' },
    gateway: { type: 'object' },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

export function loadScenario(file: string): Scenario {
  const text = readFileSync(file, 'utf8');
  const raw = parse(text) as Record<string, unknown>;
  if (!validate(raw)) {
    throw new ConfigError(file, (validate.errors ?? []).map((e) => `${e.instancePath || '(top level)'}: ${e.message ?? 'invalid'}`));
  }
  const r = raw as unknown as {
    description: string; duration_s: number; seed?: number; rate_unit?: 'x_capacity' | 'rps'; rate: [number, number][];
    mix: { stream?: number; max_tokens: [number, number]; priorities?: Mix['priorities']; deadline_s: number };
    fleet: Record<string, unknown>; gateway: Record<string, unknown>;
  };
  const fleetYaml = stringify(r.fleet);
  const fleet = parseFleetText(fleetYaml, `${file} (fleet)`);
  const meanTokens = (r.mix.max_tokens[0] + r.mix.max_tokens[1]) / 2;
  const capacityRps = fleetCapacityRps(fleet, meanTokens);
  const scale = r.rate_unit === 'rps' ? 1 : capacityRps;
  return {
    name: basename(file).replace(/\.ya?ml$/, ''),
    description: r.description,
    durationS: r.duration_s,
    seed: r.seed ?? 1,
    curve: r.rate.map(([t, x]) => [t, x * scale] as const),
    mix: { stream: r.mix.stream ?? 0.5, maxTokens: r.mix.max_tokens, priorities: r.mix.priorities ?? { normal: 1 }, deadlineS: r.mix.deadline_s },
    fleetYaml,
    fleet,
    gateway: r.gateway,
    capacityRps,
  };
}

/** The scenario's gateway config with each upstream's url (and keys) taken from the fleet upstream of its name. */
export function gatewayConfigFor(s: Scenario, urls: Record<string, string>): Record<string, unknown> {
  const g = structuredClone(s.gateway);
  const ups = (g.upstreams ?? []) as Record<string, unknown>[];
  for (const u of ups) {
    const name = String(u.name);
    const url = urls[name];
    if (url === undefined) throw new ConfigError(s.name, [`gateway.upstreams: "${name}" is not an upstream of the fleet (${Object.keys(urls).join(', ')})`]);
    u.url ??= `${url}/v1`;
    const keys = s.fleet.upstreams.find((f) => f.name === name)?.apiKeys;
    if (u.api_key === undefined && u.keys === undefined && keys !== undefined && keys.length > 0) {
      u.keys = keys.map((key, i) => ({ key, name: `key${i + 1}` }));
    }
  }
  return g;
}
