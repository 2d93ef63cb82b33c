/**
 * `${VAR}` and `${VAR:-fallback}` in string values, resolved on the parsed YAML tree rather than on the raw text so
 * that a secret containing YAML syntax can never change the structure of the file.
 */
const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

export type Report = (segments: readonly string[], text: string) => void;

export function interpolateEnv(value: unknown, env: Env, path: readonly string[], report: Report): unknown {
  if (typeof value === 'string') {
    return value.replace(REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      report(
        path,
        `environment variable ${name} is not set (the value is "\${${name}}"); expected it to be set, or write "\${${name}:-default}"`,
      );
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], report));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], report);
    return out;
  }
  return value;
}
