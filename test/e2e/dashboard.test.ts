import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import puppeteer, { type Page } from 'puppeteer-core';
import { startStack } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';

/** Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. */
function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c !== undefined && c !== '' && existsSync(c)) return c;
  try {
    return (
      execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

const KEY = 'dashboard-admin-key-0001';
/**
 * The README's screenshot is refreshed only when asked (`UPDATE_SCREENSHOT=1 npm test`): rewritten on every run, it
 * left every checkout modified. Otherwise the page is still photographed, into a temporary file, so the step runs.
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? 'docs/img/dashboard.png'
    : join(mkdtempSync(join(tmpdir(), 'spillway-dashboard-')), 'dashboard.png');

/** A bounded load: `workers` clients in a loop until `maxRequests` or `maxMs`, whichever comes first. */
function load(
  url: string,
  opts: { workers: number; maxRequests: number; maxMs: number },
): { done: Promise<void>; stop: () => void; count: () => number } {
  let n = 0;
  let stopped = false;
  const until = Date.now() + opts.maxMs;
  const priorities = ['high', 'normal', 'low'];
  const worker = async (w: number) => {
    while (!stopped && n < opts.maxRequests && Date.now() < until) {
      const i = n++;
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-spillway-priority': priorities[(i + w) % 3] ?? 'normal' },
          body: JSON.stringify({
            model: 'chat',
            messages: [{ role: 'user', content: `dash ${i}` }],
            max_tokens: 8 + (i % 16),
            stream: i % 3 === 0,
          }),
        });
        await res.text();
      } catch {
        // A refused request is part of the picture the dashboard must show; the loop goes on.
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w))).then(() => undefined);
  return { done, stop: () => (stopped = true), count: () => n };
}

/**
 * page.waitForFunction on a browser-side expression (a string: the project's types have no DOM), with what was
 * awaited and what the page showed when it timed out.
 */
async function waitFor(page: Page, what: string, expression: string, timeout = 10_000): Promise<void> {
  try {
    await page.waitForFunction(expression, { timeout });
  } catch (err) {
    const text = await page.evaluate('document.body.innerText.slice(0, 1500)').catch(() => '(page unreadable)');
    throw new Error(`timed out waiting for ${what}; the page showed:\n${String(text)}`, { cause: err });
  }
}

async function tileValue(page: Page, label: string): Promise<string> {
  return page.$$eval(
    '.tile',
    (tiles, l) => tiles.find((t) => t.querySelector('.k')?.textContent === l)?.querySelector('.v')?.textContent ?? '',
    label,
  );
}

test('the dashboard renders live numbers from a gateway under load, with no console errors, on desktop and phone widths', async (t) => {
  const chromium = requireTool(t, 'chromium', chromiumPath(), 'apt-get install chromium, or set CHROMIUM_PATH');
  if (chromium === undefined) return;
  const { gw } = await startStack(t, {
    // A healthy upstream and a small busy one that refuses when full: the page has retries, a queue and sheds to show.
    mocks: [
      { ttftMs: 30, tokenMs: 8, seed: 1 },
      { ttftMs: 60, tokenMs: 12, slots: 3, queueSize: 0, reject: 503, seed: 2 },
    ],
    config: (urls) => ({
      admin: { key: KEY },
      upstreams: urls.map((url, i) => ({
        name: i === 0 ? 'steady' : 'busy',
        url: `${url}/v1`,
        max_concurrency: i === 0 ? 6 : 8,
      })),
      models: { chat: { routes: urls.map((_u, i) => ({ upstream: i === 0 ? 'steady' : 'busy' })) } },
      queue: { max_size: 8 },
    }),
    statsIntervalMs: 250,
  });
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => {
    // The SSE request is cut when the page closes; anything else failing is a problem.
    if (!r.url().includes('/admin/stats/stream'))
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.setViewport({ width: 1280, height: 900 });

  const traffic = load(gw.url, { workers: 10, maxRequests: 600, maxMs: 10_000 });
  // Two requests certain to fail (whether the busy upstream sheds in this run or not), for the errors-only view.
  for (const model of ['no-such-model', 'nor-this-one']) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 404);
    await r.text();
  }
  t.after(() => traffic.stop());
  const res = await page.goto(`${gw.url}/dashboard?key=${KEY}`, { waitUntil: 'domcontentloaded' });
  assert.equal(res?.status(), 200);
  const frames = async () => Number(await page.evaluate('document.body.dataset.frames ?? 0'));
  await waitFor(page, 'two frames', 'Number(document.body.dataset.frames ?? 0) >= 2');
  const firstRps = await tileValue(page, 'requests / s');
  const firstFrames = await frames();
  // Live: more frames arrive and the request rate moves as the load runs.
  await waitFor(
    page,
    'the request rate to change',
    `Number(document.body.dataset.frames) >= ${firstFrames + 4} &&
    Array.from(document.querySelectorAll('.tile')).some((t) => t.querySelector('.k')?.textContent === 'requests / s' &&
      !['0', '—', ${JSON.stringify(firstRps)}].includes(t.querySelector('.v')?.textContent))`,
  );
  assert.ok((await frames()) > firstFrames);
  assert.equal(await page.$eval('#conn', (e) => e.textContent), 'live');

  const upstreams = (await page.evaluate(
    "Array.from(document.querySelectorAll('#upstreams tbody tr'), (r) => Array.from(r.querySelectorAll('td'), (c) => c.textContent).slice(0, 2))",
  )) as string[][];
  assert.deepEqual(
    upstreams.map((u) => u[0]),
    ['steady', 'busy'],
  );
  assert.ok(upstreams.every((u) => /healthy|ejected|half-open|drained/.test(u[1] ?? '')));
  assert.ok((await page.$$eval('#recent tbody tr', (rows) => rows.length)) > 0, 'recent requests are listed');
  assert.ok((await page.$$eval('#families details', (d) => d.length)) >= 10, 'every metric family is listed');
  // Each chart drew a canvas.
  assert.equal(await page.$$eval('.chart canvas', (c) => c.length), 5);
  await waitFor(page, 'a chart legend', "document.querySelector('#chart-rps .u-legend') !== null");

  // The screenshot in the README: taken while the load runs.
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false });

  // Drain from the page: the upstream shows as drained.
  // A real click: the rows are updated in place, so the button survives the frames arriving meanwhile.
  await page.click('#upstreams tbody tr:nth-child(2) button');
  await waitFor(
    page,
    'busy to show as drained',
    "document.querySelector('#upstreams tbody tr:nth-child(2)')?.textContent.includes('drained') === true",
  );
  assert.equal(gw.runtime.balancer.snapshot()[1]?.drained, true);
  await page.click('#upstreams tbody tr:nth-child(2) button');
  await waitFor(
    page,
    'busy to be back in rotation',
    "document.querySelector('#upstreams tbody tr:nth-child(2)')?.textContent.includes('drained') === false",
  );
  assert.equal(gw.runtime.balancer.snapshot()[1]?.drained, false);

  // The request log view, errors only: every row shown is a refusal or a failure, read from GET /admin/requests.
  await page.click('#errors-only');
  await waitFor(
    page,
    'error rows only',
    `(() => {
    const s = Array.from(document.querySelectorAll('#recent tbody tr td:nth-child(2)'), (c) => Number(c.textContent));
    return s.length > 0 && s.every((x) => x >= 400);
  })()`,
  );

  // A phone: nothing wider than the screen except inside the tables' own scroll boxes.
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  const atPhone = await frames();
  await waitFor(page, 'a frame at phone width', `Number(document.body.dataset.frames) > ${atPhone}`);
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  assert.ok(overflow <= 1, `page overflows a phone screen by ${overflow}px`);

  traffic.stop();
  await traffic.done;
  assert.ok(traffic.count() > 20, `load ran (${traffic.count()} requests)`);
  assert.deepEqual(problems, []);
});
