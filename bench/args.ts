import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/**
 * A bench's flags, parsed strictly, with the answers a person at a terminal expects: `--help` prints the bench's
 * own opening comment (where each bench documents its flags) and exits; an unknown or malformed flag prints one
 * line naming it, not a stack trace, and exits 2.
 */
export function benchArgs<const O extends ParseArgsOptionsConfig>(moduleUrl: string, options: O) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${openingComment(moduleUrl)}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    return usageError(moduleUrl, (err as Error).message);
  }
}

/** Ends the bench on a flag's bad value, before anything started: one line and exit code 2. */
export function usageError(moduleUrl: string, message: string): never {
  const name = basename(fileURLToPath(moduleUrl));
  process.stderr.write(`${name}: ${message}\nRun \`node ${benchPath(moduleUrl)} --help\` for its flags.\n`);
  process.exit(2);
}

function benchPath(moduleUrl: string): string {
  return relative(process.cwd(), fileURLToPath(moduleUrl)) || basename(fileURLToPath(moduleUrl));
}

/** The file's first doc comment, without its `/**`, ` * ` and `*\/` marks. */
export function openingComment(moduleUrl: string): string {
  const text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const m = /\/\*\*([\s\S]*?)\*\//.exec(text);
  if (m?.[1] === undefined) return `node ${benchPath(moduleUrl)}: no description`;
  return m[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}
