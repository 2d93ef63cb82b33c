import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, type Stage } from '../../../src/pipeline.ts';
import { PipelineError } from '../../../src/errors.ts';

interface Ctx {
  settled: boolean;
  trail: string[];
}
const stage = (name: string, run: Stage<Ctx>['run']): Stage<Ctx> => ({ name, run });

test('stages run in order, each around the next', async () => {
  const run = compose<Ctx>([
    stage('a', async (c, next) => {
      c.trail.push('a>');
      await next();
      c.trail.push('<a');
    }),
    stage('b', async (c, next) => {
      c.trail.push('b>');
      await next();
      c.trail.push('<b');
    }),
    stage('c', async (c) => {
      c.trail.push('c');
      c.settled = true;
    }),
  ]);
  const ctx: Ctx = { settled: false, trail: [] };
  await run(ctx);
  assert.deepEqual(ctx.trail, ['a>', 'b>', 'c', '<b', '<a']);
});

test('calling next() twice is an error naming the stage', async () => {
  const run = compose<Ctx>([
    stage('twice', async (_c, next) => {
      await next();
      await next();
    }),
    stage('end', async (c) => {
      c.settled = true;
    }),
  ]);
  await assert.rejects(
    run({ settled: false, trail: [] }),
    (e: unknown) => e instanceof PipelineError && /"twice" called next\(\) more than once/.test(e.message),
  );
});

test('a stage that neither answers nor calls next() is an error naming it', async () => {
  const run = compose<Ctx>([stage('forgetful', async () => {})]);
  await assert.rejects(
    run({ settled: false, trail: [] }),
    /stage "forgetful" finished without answering the request and without calling next\(\)/,
  );
});

test('the last stage calling next() is an error', async () => {
  const run = compose<Ctx>([stage('last', async (_c, next) => next())]);
  await assert.rejects(run({ settled: false, trail: [] }), /"last" called next\(\) but it is the last stage/);
});

test('a stage that stops because the client went away is not an error (nobody is left to answer)', async () => {
  const gone = new AbortController();
  gone.abort();
  const run = compose<Ctx & { clientGone: AbortSignal }>([{ name: 'left', run: async () => {} }]);
  await run({ settled: false, trail: [], clientGone: gone.signal });
  const stillThere = new AbortController();
  await assert.rejects(
    run({ settled: false, trail: [], clientGone: stillThere.signal }),
    /stage "left" finished without answering/,
  );
});
