import type { ErrorObject } from 'ajv';
import { formatKeyPath, segmentsOf, showValue, valueAt } from './key-path.ts';
import { isSecretKey, maskSecret } from './mask.ts';
import type { Locate } from './yaml-source.ts';

/**
 * Ajv's errors in the house style, for every config-like file (gateway config, fleet file): the key path, its
 * line, the value found (secrets masked) and what was expected (the schema's `x-expected`). One line per key: ajv
 * may report a key twice (type and minimum, say) and the first is the clearest.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[], data: unknown, locate: Locate): string[] {
  const out = new Map<string, string>();
  for (const e of errors) {
    const segs = segmentsOf(e.instancePath);
    let path = segs;
    let text: string;
    if (e.keyword === 'additionalProperties') {
      path = [...segs, String((e.params as { additionalProperty: string }).additionalProperty)];
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      text = `unknown key; ${props ? `expected one of: ${Object.keys(props).join(', ')}` : 'expected no such key'}`;
    } else if (e.keyword === 'required') {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      path = [...segs, key];
      const expected = (e.parentSchema as { properties?: Record<string, Record<string, unknown>> } | undefined)
        ?.properties?.[key]?.['x-expected'];
      text = `missing; expected ${typeof expected === 'string' ? expected : 'a value'}`;
    } else {
      const raw = valueAt(data, segs);
      const shown = isSecretKey(segs[segs.length - 1] ?? '') ? maskSecret(raw) : showValue(raw);
      const expected: unknown = e.parentSchema?.['x-expected'];
      text = `got ${shown}, expected ${typeof expected === 'string' ? expected : (e.message ?? 'something else')}`;
    }
    const where = formatKeyPath(path);
    if (!out.has(where)) out.set(where, `${where}${locate(path)}: ${text}`);
  }
  return [...out.values()];
}
