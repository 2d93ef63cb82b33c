import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { UpstreamCall } from '../../../src/upstream/upstream-call.ts';

/** A controller that records what the handler asked of undici. */
class Recorder implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason = null;
  resumes = 0;
  abortedWith: Error | undefined;
  abort(e: Error): void {
    this.abortedWith ??= e;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
}
const controller = (): Recorder => new Recorder();

test('the head settles once with status and headers; chunks are read in order, then null', async () => {
  const call = new UpstreamCall();
  const c = controller();
  call.onRequestStart(c);
  call.onResponseStart(c, 100, {}); // informational: not the head
  call.onResponseStart(c, 200, { 'content-type': 'text/event-stream' });
  assert.deepEqual(await call.head, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  const pending = call.read(); // waits for the first chunk
  call.onResponseData(c, Buffer.from('a'));
  call.onResponseData(c, Buffer.from('b'));
  call.onResponseEnd();
  assert.equal(String(await pending), 'a');
  assert.equal(String(await call.read()), 'b');
  assert.equal(await call.read(), null);
  assert.equal(await call.read(), null, 'the end stays the end');
});

test('an unread body past 64 KB pauses the upstream read, and reading resumes it', async () => {
  const call = new UpstreamCall();
  const c = controller();
  call.onRequestStart(c);
  call.onResponseStart(c, 200, {});
  for (let i = 0; i < 3; i++) call.onResponseData(c, Buffer.alloc(32 * 1024));
  assert.equal(c.paused, true);
  await call.read();
  await call.read();
  assert.equal(c.paused, false, 'resumed once under the mark');
  assert.equal(c.resumes, 1);
});

test('an abort before undici starts the request aborts it at the start; the head rejects with the reason', async () => {
  const call = new UpstreamCall();
  const why = new Error('client left');
  call.abort(why);
  const c = controller();
  call.onRequestStart(c);
  assert.equal(c.abortedWith, why);
  call.onResponseError(c, new Error('undici: aborted'));
  await assert.rejects(call.head, (e) => e === why);
});

test('an error mid-body drops what was not read and is what the reader hears next; the first abort reason wins', async () => {
  const call = new UpstreamCall();
  const c = controller();
  call.onRequestStart(c);
  call.onResponseStart(c, 200, {});
  call.onResponseData(c, Buffer.from('unread'));
  const timeout = new Error('timeout');
  call.abort(timeout);
  call.abort(new Error('later'));
  assert.equal(c.abortedWith, timeout);
  call.onResponseError(c, new Error('undici: aborted'));
  await assert.rejects(call.read(), (e) => e === timeout);
  assert.equal(call.finished, true);
});

test('aborting a body that already ended changes nothing', async () => {
  const call = new UpstreamCall();
  const c = controller();
  call.onRequestStart(c);
  call.onResponseStart(c, 200, {});
  call.onResponseData(c, Buffer.from('x'));
  call.onResponseEnd();
  call.abort(new Error('closed'));
  assert.equal(c.abortedWith, undefined);
  assert.equal(String(await call.read()), 'x');
  assert.equal(await call.read(), null);
});
