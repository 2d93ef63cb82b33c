#!/usr/bin/env node
// The CLI entry. Spillway runs its TypeScript sources directly with Node's type stripping (Node >= 22.18),
// so this shim only checks the runtime and hands argv to src/main.ts.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `spillway: Node.js >= 22.18 is required (this is ${process.version}). Get Node 24: npm install -g --prefix /usr/local node@24\n`,
  );
  process.exit(1);
}
// Node's compile cache (on disk, keyed by each file's contents) keeps the type-stripped sources and their V8 code:
// from the second start on, the TypeScript stripper is not even loaded, which halves the time to ready and saves
// ~25 MB of idle memory. It fails soft (a read-only disk just means no cache); NODE_COMPILE_CACHE picks the dir.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
