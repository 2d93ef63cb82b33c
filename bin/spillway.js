#!/usr/bin/env node
// The CLI entry. Spillway runs its TypeScript sources directly with Node's type stripping (Node >= 22.18),
// so this shim only checks the runtime and hands argv to src/main.ts.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`spillway: Node.js >= 22.18 is required (this is ${process.version}). Get Node 24: npm install -g --prefix /usr/local node@24\n`);
  process.exit(1);
}
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
