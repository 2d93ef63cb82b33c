import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { startStack } from '../helpers/stack.ts';

const README = readFileSync('README.md', 'utf8');
const block = (lang: string, containing: string): string => {
  for (const m of README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))) if (m[1]?.includes(containing)) return m[1];
  throw new Error(`no ${lang} block with ${containing} in README.md`);
};

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
  });
}

async function readmeStack(t: TestContext) {
  const { gw } = await startStack(t, {
    config: (urls) => ({ upstreams: [{ name: 'sim', url: `${urls[0]}/v1` }], models: { 'deepseek-v4-flash': { routes: [{ upstream: 'sim' }] } } }),
  });
  return (code: string) => code.replaceAll('http://127.0.0.1:8080', gw.url);
}

test('the README curl example gets a chat completion', async (t) => {
  const at = await readmeStack(t);
  const out = await exec('sh', ['-c', at(block('sh', 'curl')).replace(/\\\n/g, ' ')]);
  const r = JSON.parse(out) as { model: string; choices: { message: { content: string } }[] };
  assert.equal(r.model, 'deepseek-v4-flash');
  assert.ok((r.choices[0]?.message.content ?? '').length > 0);
});

test('the README Node example prints an answer', async (t) => {
  const at = await readmeStack(t);
  const file = 'test/.readme-example.mjs';
  writeFileSync(file, at(block('js', 'new OpenAI')));
  t.after(() => rmSync(file, { force: true }));
  const out = await exec(process.execPath, [file]);
  assert.ok(out.trim().length > 0);
});

const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'import openai'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('the README Python example streams an answer', { skip: !hasPython && process.env.CI !== 'true' ? 'python3 with openai is not installed' : false }, async (t) => {
  const at = await readmeStack(t);
  const out = await exec('python3', ['-c', at(block('python', 'OpenAI('))]);
  assert.ok(out.trim().length > 0);
});
