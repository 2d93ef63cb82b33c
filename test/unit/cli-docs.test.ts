import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMANDS } from '../../src/cli/index.ts';

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

test('docs/cli.md has a "## spillway <name>" section for every command, in the order of spillway help', () => {
  const headings = [...doc.matchAll(/^## spillway (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(
    headings,
    COMMANDS.map((c) => c.name),
  );
});

test("each command's section holds its --help text verbatim in a text block", () => {
  for (const c of COMMANDS) {
    const start = doc.indexOf(`## spillway ${c.name}\n`);
    const next = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, next === -1 ? undefined : next);
    assert.ok(
      section.includes(`\`\`\`text\n${c.help}\n\`\`\``),
      `the help of "spillway ${c.name}" is not in docs/cli.md as printed; regenerate the block`,
    );
  }
});
