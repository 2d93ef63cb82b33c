import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { startStack } from '../helpers/stack.ts';

/** The first fenced block of `lang` in `file` whose code contains `containing`. */
const blockIn = (file: string, lang: string, containing: string): string => {
  for (const m of readFileSync(file, 'utf8').matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g')))
    if (m[1]?.includes(containing)) return m[1];
  throw new Error(`no ${lang} block with ${containing} in ${file}`);
};
const block = (lang: string, containing: string): string => blockIn('README.md', lang, containing);

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
    );
  });
}

async function readmeStack(t: TestContext) {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'sim', url: `${urls[0]}/v1` }],
      models: { 'deepseek-v4-flash': { routes: [{ upstream: 'sim' }] } },
    }),
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

test(
  'the README Python example streams an answer',
  { skip: !hasPython && process.env.CI !== 'true' ? 'python3 with openai is not installed' : false },
  async (t) => {
    const at = await readmeStack(t);
    const out = await exec('python3', ['-c', at(block('python', 'OpenAI('))]);
    assert.ok(out.trim().length > 0);
  },
);

// The Chinese README and DeepSeek guide: every runnable example, run against the same simulated stack.
const ZH_README = 'README.zh-CN.md';
const ZH_GUIDE = 'docs/zh-CN/deepseek.md';

const chatOut = (out: string) => {
  const r = JSON.parse(out) as { model: string; choices: { message: { content: string } }[] };
  assert.equal(r.model, 'deepseek-v4-flash');
  assert.ok((r.choices[0]?.message.content ?? '').length > 0);
};

for (const [file, containing] of [
  [ZH_README, 'curl'],
  [ZH_GUIDE, 'v1/chat/completions'],
  [ZH_GUIDE, 'x-spillway-deadline-ms'],
] as const) {
  test(`the ${file} curl example with ${containing} gets a chat completion`, async (t) => {
    const at = await readmeStack(t);
    chatOut(await exec('sh', ['-c', at(blockIn(file, 'sh', containing)).replace(/\\\n/g, ' ')]));
  });
}

for (const [file, containing] of [
  [ZH_README, 'new OpenAI'],
  [ZH_GUIDE, 'x-spillway-priority'],
] as const) {
  test(`the ${file} Node example (${containing}) prints an answer`, async (t) => {
    const at = await readmeStack(t);
    const example = `test/.readme-zh-example-${containing.replace(/\W/g, '')}.mjs`;
    writeFileSync(example, at(blockIn(file, 'js', containing)));
    t.after(() => rmSync(example, { force: true }));
    assert.ok((await exec(process.execPath, [example])).trim().length > 0);
  });
}

test(
  `the ${ZH_README} Python example streams an answer`,
  { skip: !hasPython && process.env.CI !== 'true' ? 'python3 with openai is not installed' : false },
  async (t) => {
    const at = await readmeStack(t);
    assert.ok((await exec('python3', ['-c', at(blockIn(ZH_README, 'python', 'OpenAI('))])).trim().length > 0);
  },
);

test(
  `the ${ZH_GUIDE} Python example prints an answer and DeepSeek's cache tokens`,
  { skip: !hasPython && process.env.CI !== 'true' ? 'python3 with openai is not installed' : false },
  async (t) => {
    const at = await readmeStack(t);
    const lines = (await exec('python3', ['-c', at(blockIn(ZH_GUIDE, 'python', 'OpenAI('))])).trim().split('\n');
    assert.ok((lines[0] ?? '').length > 0);
    assert.match(lines.at(-1) ?? '', /^\d+ \d+$/, 'prompt_cache_hit_tokens and prompt_cache_miss_tokens');
  },
);

test(`the ${ZH_GUIDE} Anthropic-door curl example gets a Messages answer`, async (t) => {
  const at = await readmeStack(t);
  const code = at(blockIn(ZH_GUIDE, 'sh', 'anthropic/v1/messages')).replace(/\\\n/g, ' ');
  const probe = await fetch(at('http://127.0.0.1:8080/anthropic/v1/messages'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await probe.body?.cancel();
  // The Messages door is built on its own branch; until it is in this build the example has nothing to answer it.
  if (probe.status === 404) return t.skip('the Anthropic Messages door is not in this build');
  const r = JSON.parse(await exec('sh', ['-c', code])) as {
    type: string;
    role: string;
    content: { type: string; text: string }[];
  };
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.ok((r.content.find((c) => c.type === 'text')?.text ?? '').length > 0);
});
