import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.ts';

/** Finds the line a key path stands on, as " (line N)", for error messages ("" when unknown). */
export type Locate = (segments: readonly string[]) => string;

/**
 * Parses YAML for a config-like file (the gateway config, a fleet file): syntax errors become a ConfigError with
 * line and column; the returned `locate` lets later validation errors name the line of the key they are about.
 */
export function parseYamlSource(text: string, file: string): { data: unknown; locate: Locate } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.slice(0, 3).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `line ${pos.line}, column ${pos.col}: YAML syntax error: ${e.message.split('\n')[0] ?? ''}`;
      }),
    );
  }
  const locate: Locate = (segments) => {
    for (let n = segments.length; n > 0; n--) {
      const node = doc.getIn(
        segments.slice(0, n).map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
        true,
      ) as YamlNode | undefined;
      if (node?.range) return ` (line ${lineCounter.linePos(node.range[0]).line})`;
    }
    return '';
  };
  return { data: doc.toJS() ?? {}, locate };
}
