#!/usr/bin/env node
// Run once at install (package.json's postinstall; the container image runs it at build time): loads every module
// of src/ with Node's compile cache on, so that the first `spillway start` already finds the type-stripped sources
// and their compiled code on disk. Without it the first start loads the TypeScript stripper and strips ~200 files:
// ~170 ms and ~25 MB more than every later start (docs/benchmarks.md, "Cold and idle"). The cache goes where
// bin/spillway.js looks for it (NODE_COMPILE_CACHE, else Node's default in the temp dir); it is keyed by each
// file's path and contents, so a stale entry is never used. Best effort: it never fails an install.
import { enableCompileCache, flushCompileCache } from 'node:module';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
const typeStripping = major > 22 || (major === 22 && minor >= 18);
const cache =
  typeStripping && process.env.NODE_DISABLE_COMPILE_CACHE === undefined ? enableCompileCache?.() : undefined;
if (cache !== undefined && cache.directory !== undefined) {
  const src = join(import.meta.dirname, '..', 'src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  let failed = 0;
  for (const f of files) {
    // Loading runs each module's top level: declarations, no I/O (a test imports every module the same way).
    await import(pathToFileURL(join(src, f)).href).catch(() => failed++);
  }
  flushCompileCache?.();
  process.stdout.write(
    `spillway: compiled ${files.length - failed} modules into Node's compile cache (${cache.directory})\n`,
  );
}
process.exit(0);
