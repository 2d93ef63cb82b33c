import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { createLogger, requestLineWriter } from '../../../src/observe/log.ts';

const LOG = new URL('../../../src/observe/log.ts', import.meta.url).href;

/** A process that logs to stdout with the default destination; `script` gets `log` and `request` (request lines). */
function logger(script: string) {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createLogger, requestLineWriter } from '${LOG}'; const log = createLogger('info'); const request = requestLineWriter(log); ${script}`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines: Record<string, unknown>[] = [];
  const waiting: { msg: string; resolve: () => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    const line = JSON.parse(l) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiting.filter((x) => x.msg === line.msg)) w.resolve();
  });
  const seen = (msg: string) =>
    new Promise<void>((resolve) => {
      if (lines.some((l) => l.msg === msg)) resolve();
      else waiting.push({ msg, resolve });
    });
  /** Resolves with the exit code once the process has exited and its stdout is read to the end. */
  const closed = once(child, 'close').then(([code]) => code as number);
  return { child, lines, seen, closed };
}

test('request lines wait for a batch; any other line goes out at once and takes the waiting ones with it, in order', async (t) => {
  // Logs two request lines, then a warning, then keeps running until its stdin closes.
  const p = logger(`request({ n: 1 }); request({ n: 2 }); log.warn('upstream down'); process.stdin.resume();`);
  t.after(() => p.child.kill('SIGKILL'));
  await p.seen('upstream down');
  assert.deepEqual(
    p.lines.map((l) => [l.msg, l.n]),
    [
      ['request', 1],
      ['request', 2],
      ['upstream down', undefined],
    ],
  );
});

test('a lone request line is written within the flush interval, and every waiting line is written on exit', async () => {
  const lone = logger(`request({ n: 1 }); process.stdin.resume();`);
  await lone.seen('request'); // the 1 s flush: waited for as an event, not a sleep
  lone.child.kill('SIGKILL');
  const exiting = logger(`for (let n = 0; n < 500; n++) request({ n });`); // exits at once, lines in its buffer
  assert.equal(await exiting.closed, 0);
  assert.deepEqual(
    exiting.lines.map((l) => l.n),
    Array.from({ length: 500 }, (_v, n) => n),
  );
});

test('the request line written by hand is the line pino writes for the same fields, key for key and in order', () => {
  const out: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk.toString());
        cb();
      },
    }),
  );
  const fields = {
    requestId: 'r1',
    model: 'chat',
    stream: true,
    tenant: undefined,
    status: 200,
    code: 'ok',
    ms: 12.5,
    note: 'quote " and \\ and ✓',
  };
  log.info(fields, 'request');
  requestLineWriter(log)(fields);
  requestLineWriter(log)({});
  const [byPino, byHand, empty] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
  delete byPino?.time;
  delete byHand?.time;
  assert.deepEqual(Object.entries(byHand ?? {}), Object.entries(byPino ?? {}));
  assert.deepEqual(Object.keys(empty ?? {}), ['level', 'time', 'service', 'msg']);
  log.level = 'warn';
  requestLineWriter(log)(fields);
  assert.equal(out.length, 3, 'nothing below the level in force');
});

test('lines written as bytes over several batches arrive whole and in order, text beyond ASCII included', async () => {
  const text = 'модель ✓ 🚀 "quoted" \\';
  const p = logger(
    `for (let n = 0; n < 1000; n++) { request({ n, text: ${JSON.stringify(text)} }); if (n === 500) log.warn(${JSON.stringify(text)}); }`,
  );
  assert.equal(await p.closed, 0);
  assert.deepEqual(
    p.lines.map((l) => (l.msg === 'request' ? [l.n, l.text] : [l.msg])),
    [
      ...Array.from({ length: 501 }, (_v, n) => [n, text]),
      [text],
      ...Array.from({ length: 499 }, (_v, n) => [n + 501, text]),
    ],
  );
});
