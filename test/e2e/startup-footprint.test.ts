import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'spillway.js');
const TYPICAL = `upstreams:
  - name: up
    url: http://127.0.0.1:9/v1
    kind: openai
models:
  chat:
    routes:
      - upstream: up
`;

/**
 * Loaded into the gateway with --import: records every module it loads; on SIGUSR2 writes them, and the built-in
 * modules Node loaded, to $FOOTPRINT_OUT and says so on stderr.
 */
const PRELOAD = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
process.on('SIGUSR2', () => {
  writeFileSync(process.env.FOOTPRINT_OUT, JSON.stringify({ urls, builtins: process.moduleLoadList }));
  process.stderr.write('footprint written\\n');
});`;

interface Footprint {
  urls: string[];
  builtins: string[];
}

/** Starts `spillway start` with `args`, reads what it loaded once it is listening, then stops it. */
async function footprintOf(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<Footprint> {
  const out = join(dir, `footprint-${Math.random().toString(36).slice(2)}.json`);
  const child = spawn(
    process.execPath,
    [`--import=data:text/javascript,${encodeURIComponent(PRELOAD)}`, BIN, 'start', ...args, '--port', '0'],
    { env: { ...env, FOOTPRINT_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        if (/listening on http/.test(err) && !err.includes('SIGUSR2 sent')) {
          err += 'SIGUSR2 sent';
          child.kill('SIGUSR2');
        }
        if (err.includes('footprint written')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${err}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return JSON.parse(readFileSync(out, 'utf8')) as Footprint;
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-footprint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const stripperLoaded = (f: Footprint): boolean => f.builtins.some((m) => m.includes('internal/deps/amaro'));

test('after the install step, the first start finds every module compiled: the TypeScript stripper is not loaded', async (t) => {
  const dir = scratch(t);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'cache') };
  delete env.NODE_DISABLE_COMPILE_CACHE;
  // The install step exactly as npm runs it.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const postinstall = pkg.scripts.postinstall as string;
  const r = spawnSync('sh', ['-c', postinstall], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // Every module of src/ loads on its own (a failure would leave it out of the cache without a word).
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  assert.match(r.stdout, new RegExp(`compiled ${sources.length} modules into Node's compile cache`));
  writeFileSync(join(dir, 'spillway.yaml'), TYPICAL);
  const f = await footprintOf(dir, ['--config', join(dir, 'spillway.yaml')], env);
  assert.equal(stripperLoaded(f), false);
});

test('without the install step, the first start strips types (what the install step saves it)', async (t) => {
  const dir = scratch(t);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'cache') };
  delete env.NODE_DISABLE_COMPILE_CACHE;
  writeFileSync(join(dir, 'spillway.yaml'), TYPICAL);
  const f = await footprintOf(dir, ['--config', join(dir, 'spillway.yaml')], env);
  assert.equal(stripperLoaded(f), true);
});

test('a start in front of real upstreams loads no simulator, no demo, no schema compiler, no fetch of undici or Node', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'spillway.yaml'), TYPICAL);
  for (const args of [['--config', join(dir, 'spillway.yaml')], []]) {
    // [] is the zero-config start with DEEPSEEK_API_KEY set (it sends nothing upstream until a request comes).
    const f = await footprintOf(dir, args, { ...process.env, DEEPSEEK_API_KEY: 'sk-footprint-test' });
    const src = f.urls.filter((u) => u.includes('/src/')).map((u) => u.slice(u.indexOf('/src/') + 1));
    assert.deepEqual(
      // The profiles' table is in `spillway mock --help`, which the CLI lists with every command.
      src.filter((p) => (p.startsWith('src/mock/') && p !== 'src/mock/profiles.ts') || p.startsWith('src/storm/')),
      [],
      `${args.join(' ') || 'zero-config'}: simulator or demo modules loaded`,
    );
    // Features that are off are not loaded: no cached model, no Redis.
    const off = [
      'src/cache/response-cache.ts',
      'src/jobs/store/redis-store.ts',
      'src/api/responses/redis-response-store.ts',
    ];
    assert.deepEqual(
      src.filter((p) => off.includes(p)),
      [],
      'modules of features that are off',
    );
    // The config validator is generated ahead of time (src/config/config-validator-source.ts): no ajv compiler.
    assert.deepEqual(
      f.urls.filter((u) => u.includes('/ajv/dist/compile/')),
      [],
      'ajv compiled a schema at startup',
    );
    // undici's Pool and Agent only, not its index (fetch, WebSocket, mocks): upstream/undici-dispatchers.ts.
    assert.deepEqual(
      f.urls.filter((u) => u.endsWith('/undici/index.js')),
      [],
      'undici was loaded whole',
    );
    // Node's bundled undici (fetch, WebSocket) is what an ES import of node:http drags in (server/http-server.ts).
    assert.equal(
      f.builtins.some((m) => m.includes('internal/deps/undici')),
      false,
      'Node’s bundled undici was loaded',
    );
  }
});
