import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { parseYamlSource, type Locate } from './yaml-source.ts';
import { describeSchemaErrors } from './schema-errors.ts';
import { ConfigError } from '../errors.ts';
import type { RawConfig } from './schema.ts';
import { validate as generatedValidate } from './config-validator.generated.js';
import { interpolateEnv, type Env } from './interpolate.ts';
import { showValue } from './key-path.ts';
import { Problems } from './problems.ts';
import { buildConfig } from './build-config.ts';
import type { Config } from './types.ts';

// ajv's validator for configSchema, generated ahead of time (config-validator-source.ts says why).
const validate = generatedValidate as unknown as ValidateFunction<RawConfig>;

/** Reads, interpolates, validates and resolves a YAML config file. Throws ConfigError naming every problem. */
export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: Env = process.env): Config {
  const { data, locate } = parseYamlSource(text, file);
  return resolveConfig(data, file, env, locate);
}

/** Validates and resolves an already-parsed config object (zero-config start, tests). */
export function resolveConfig(
  input: unknown,
  source: string,
  env: Env = process.env,
  locate: Locate = () => '',
): Config {
  const problems = new Problems(locate);
  const data = interpolateEnv(input, env, [], (segs, text) => problems.at(segs, text));
  if (problems.lines.length > 0) throw new ConfigError(source, problems.lines);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(source, [`(top level): got ${showValue(data)}, expected a map with upstreams and models`]);
  }
  if (!validate(data)) {
    throw new ConfigError(source, describeSchemaErrors(validate.errors ?? [], data, locate));
  }
  const config = buildConfig(data, source, problems);
  if (problems.lines.length > 0) throw new ConfigError(source, problems.lines);
  return deepFreeze(config);
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
