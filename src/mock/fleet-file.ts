import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { formatKeyPath } from '../config/key-path.ts';
import { parseYamlSource } from '../config/yaml-source.ts';
import { describeSchemaErrors } from '../config/schema-errors.ts';
import { ConfigError } from '../errors.ts';
import type { FleetSpec, FleetUpstreamSpec } from './fleet.ts';
import { FAULT_KEYS, OUTAGE_KEYS, UPSTREAM_KEYS, fleetSchema } from './fleet-schema.ts';
import { resolveOptions, type MockOptions } from './options.ts';
import { MOCK_PROFILES, type MockProfileName } from './profiles.ts';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
ajv.addVocabulary(['x-expected']);
const validate = ajv.compile(fleetSchema);

type Raw = Record<string, unknown>;

/**
 * Reads a fleet file (YAML) into a FleetSpec. Every mistake is reported at once, in the gateway config's style:
 * file, key path, line, the value found and what was expected — thrown as a ConfigError (the CLI prints it, exit 1).
 */
export function loadFleetFile(file: string): FleetSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseFleetText(text, file);
}

export function parseFleetText(text: string, file: string): FleetSpec {
  const { data, locate } = parseYamlSource(text, file);
  if (!validate(data)) throw new ConfigError(file, describeSchemaErrors(validate.errors ?? [], data, locate));
  const problems: string[] = [];
  const problem = (segs: (string | number)[], msg: string): void => {
    problems.push(`${formatKeyPath(segs)}${locate(segs.map(String))}: ${msg}`);
  };
  const names = new Map<string, number>();
  const upstreams = ((data as Raw).upstreams as Raw[]).map((raw, i) => {
    const name = raw.name as string;
    const prev = names.get(name);
    if (prev !== undefined)
      problem(['upstreams', i, 'name'], `got "${name}", expected a name not already used by upstreams[${prev}]`);
    names.set(name, i);
    // Independent servers fail independently: each upstream draws its faults and jitter from its own seed.
    const spec = { ...toSpec(raw) };
    spec.faultSeed ??= (spec.seed ?? 1) + i;
    const before = problems.length;
    crossChecks(raw, spec, (segs, msg) => problem(['upstreams', i, ...segs], msg));
    // The mock's own validation, as a safety net for anything the checks above missed (its names are camelCase).
    if (problems.length === before) {
      try {
        resolveOptions(spec);
      } catch (err) {
        problem(['upstreams', i], (err as Error).message);
      }
    }
    return spec;
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { upstreams };
}

/** snake_case YAML → MockOptions, on top of the upstream's profile (fault rates merge with the profile's). */
function toSpec(raw: Raw): FleetUpstreamSpec {
  const opts: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'faults') opts.faults = rename(v as Raw, FAULT_KEYS);
    else if (k === 'outages') opts.outages = (v as Raw[]).map((o) => rename(o, OUTAGE_KEYS));
    else opts[(UPSTREAM_KEYS[k] as [string, unknown])[0]] = v;
  }
  const { profile, ...own } = opts as unknown as MockOptions & { profile?: MockProfileName; name: string };
  const base: MockOptions = profile === undefined ? {} : MOCK_PROFILES[profile].options;
  const faults = base.faults === undefined && own.faults === undefined ? undefined : { ...base.faults, ...own.faults };
  return { ...base, ...own, faults };
}

function rename(raw: Raw, keys: Record<string, [string, unknown]>): Raw {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [(keys[k] as [string, unknown])[0], v]));
}

/** What the schema cannot say: windows in order and apart, fault rates adding up to at most 1. */
function crossChecks(raw: Raw, spec: MockOptions, problem: (segs: (string | number)[], msg: string) => void): void {
  const outages = (raw.outages ?? []) as { start_ms: number; end_ms: number }[];
  outages.forEach((o, j) => {
    if (o.end_ms <= o.start_ms)
      problem(['outages', j, 'end_ms'], `got ${o.end_ms}, expected more than start_ms (${o.start_ms})`);
    const prev = outages[j - 1];
    if (prev !== undefined && o.start_ms < prev.end_ms) {
      problem(
        ['outages', j, 'start_ms'],
        `got ${o.start_ms}, expected at least the end_ms of outages[${j - 1}] (${prev.end_ms}): windows are sorted and apart`,
      );
    }
  });
  // Summed after merging with the profile's rates: that is what the mock will draw from.
  const rates: [string, unknown][] = Object.entries(spec.faults ?? {}).filter(([k]) => k !== 'slowTokenMs');
  const sum = Math.round(rates.reduce((s: number, [, v]) => s + (typeof v === 'number' ? v : 0), 0) * 1e6) / 1e6;
  const withProfile =
    raw.profile !== undefined &&
    (MOCK_PROFILES[raw.profile as MockProfileName].options as MockOptions).faults !== undefined;
  if (sum > 1) {
    problem(
      [raw.faults === undefined ? 'profile' : 'faults'],
      `fault rates${withProfile ? ` (with profile ${String(raw.profile)}'s)` : ''} add up to ${sum}, expected at most 1 (each request gets at most one fault)`,
    );
  }
}
