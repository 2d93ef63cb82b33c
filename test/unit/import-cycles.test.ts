import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** Every module under `dir` (.ts, and .js: generated code, browser scripts), as a path relative to the repo root. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') || f.endsWith('.js'))
    .map((f) => join(dir, f));
}

/**
 * The relative modules a file imports or re-exports, type-only ones included: a cycle of types still ties two
 * files together (neither can be read, moved or tested without the other). Dynamic `import()` is left out: it
 * is how a file loads an optional feature late (tracing), not a dependency of its own.
 */
function importsOf(file: string): string[] {
  return parseImports(readFileSync(file, 'utf8'), file);
}

/** One cycle per strongly connected group found by a depth-first walk (Tarjan's colours: on the stack = grey). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

test('src/ has no import cycle, type-only imports included', () => {
  const files = sources('src');
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const edges = [...graph.values()].reduce((n, e) => n + e.length, 0);
  assert.ok(files.length > 100 && edges > 300, `walked ${files.length} files and ${edges} imports`);
  for (const targets of graph.values())
    for (const t of targets) assert.ok(graph.has(t), `an import of ${t}, which is not a file of src/`);
  assert.deepEqual(
    cycles(graph).map((c) => c.join(' → ')),
    [],
  );
});

test('the cycle check finds a cycle through a type-only import', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  assert.deepEqual(cycles(graph), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  const text =
    "import type { X } from './b.ts';\nexport { y } from '../c.ts';\nimport {\n  z,\n} from './d.ts';\nimport './e.ts';\n";
  assert.deepEqual(parseImports(text, 'src/x/a.ts'), ['src/x/b.ts', 'src/c.ts', 'src/x/d.ts', 'src/x/e.ts']);
});

/** The relative specifiers of static imports and re-exports in `text`, resolved against `file`'s folder. */
function parseImports(text: string, file: string): string[] {
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'(\.{1,2}\/[^']+)'/gm),
  ];
  return specs.map((m) => normalize(join(dirname(file), m[1] as string)));
}
