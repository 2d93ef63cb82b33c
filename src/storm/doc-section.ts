import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes `body` into a markdown file between `<!-- NAME:start -->` and `<!-- NAME:end -->`, replacing what was
 * there or appending the section; each benchmark owns its own sections of docs/benchmarks.md.
 */
export function writeDocSection(file: string, name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? `${text.slice(0, i)}${section}${text.slice(j + end.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
