/** Walks the config schema into one row per key, for docs/configuration.md and the test that keeps it honest. */
export interface KeyRow {
  path: string;
  type: string;
  default: string;
  description: string;
}

type S = Record<string, unknown>;

export function describeSchema(schema: S, path = ''): KeyRow[] {
  const rows: KeyRow[] = [];
  const props = schema.properties as Record<string, S> | undefined;
  if (props !== undefined) {
    for (const [k, sub] of Object.entries(props)) rows.push(...describeNode(sub, path === '' ? k : `${path}.${k}`));
  }
  return rows;
}

function describeNode(s: S, path: string): KeyRow[] {
  const own: KeyRow = {
    path,
    type: typeName(s),
    default: 'default' in s ? showDefault(s.default) : '—',
    description: typeof s.description === 'string' ? s.description : '',
  };
  const isObject = s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'));
  if (isObject && s.properties !== undefined) {
    const inner = describeSchema(s, path);
    return own.description === '' ? inner : [own, ...inner];
  }
  if (
    s.type === 'array' &&
    typeof s.items === 'object' &&
    s.items !== null &&
    (s.items as S).properties !== undefined
  ) {
    return [own, ...describeSchema(s.items as S, `${path}[]`)];
  }
  if (s.type === 'object' && typeof s.additionalProperties === 'object' && s.additionalProperties !== null) {
    const inner = s.additionalProperties as S;
    return inner.properties !== undefined ? [own, ...describeSchema(inner, `${path}.<name>`)] : [own];
  }
  return [own];
}

function typeName(s: S): string {
  if (Array.isArray(s.enum)) return s.enum.map(String).join(' \\| ');
  if (typeof s.pattern === 'string' && s.pattern.includes('ms|s|m|h'))
    return s.pattern.includes('auto') ? 'duration \\| auto' : 'duration';
  // A string that may only be one of a few words (beside an object, say) is shown as those words.
  const words = typeof s.pattern === 'string' ? /^\^\(([a-z_|]+)\)\$$/.exec(s.pattern)?.[1]?.split('|') : undefined;
  const t = s.type;
  const types = (Array.isArray(t) ? t : typeof t === 'string' ? [t] : ['any']).flatMap((x: unknown) =>
    x === 'string' && words !== undefined ? words : [String(x)],
  );
  return types.join(' \\| ');
}

function showDefault(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
