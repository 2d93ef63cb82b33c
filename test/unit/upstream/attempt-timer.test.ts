import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { AttemptTimer, type AttemptTimeouts } from '../../../src/upstream/attempt-timer.ts';
import { UpstreamHeard } from '../../../src/upstream/upstream-heard.ts';
import { FakeClock } from '../../../src/clock.ts';

const timeouts = { firstTokenMs: 100, idleMs: 50, totalMs: 1000 };

function timer(clock: FakeClock, deadlineAt = Infinity) {
  const t = new AttemptTimer(
    () => clock.now(),
    timeouts,
    deadlineAt,
    () => {},
  );
  t.stop(); // only the pure `due` logic is exercised here; no real timer runs
  return t;
}

test('keep-alive activity never satisfies the first-token timeout', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(60);
  t.activity();
  c.advance(60);
  assert.equal(t.due(c.now()), 'first_token');
});

test('after the first token, silence longer than idle times out; activity keeps it alive', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(10);
  t.firstToken();
  c.advance(40);
  assert.equal(t.due(c.now()), undefined);
  t.activity();
  c.advance(49);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
});

test('total and the request deadline bound the attempt; the nearer one names the phase', () => {
  const c = new FakeClock();
  const t = timer(c);
  t.firstToken();
  for (let i = 0; i < 30; i++) {
    c.advance(40);
    t.activity();
  }
  assert.equal(t.due(c.now()), 'total');
  const c2 = new FakeClock();
  const t2 = timer(c2, 80);
  c2.advance(80);
  assert.equal(t2.due(c2.now()), 'deadline');
});

test('the real timer fires once with the phase that is due', async () => {
  const phase = await new Promise<string>((resolve) => {
    new AttemptTimer(() => performance.now(), { firstTokenMs: 5, idleMs: 1000, totalMs: 1000 }, Infinity, resolve);
  });
  assert.equal(phase, 'first_token');
});

test('keep-alives before the first token are counted (a queueing upstream); after it they are nothing', () => {
  const c = new FakeClock();
  const t = timer(c);
  t.keepAlive();
  t.keepAlive();
  assert.equal(t.keepAlives, 2);
  assert.equal(t.queuedUpstream, true);
  c.advance(100);
  assert.equal(t.due(c.now()), 'first_token', 'keep-alives never reset the first-token timer');
  const t2 = timer(c);
  assert.equal(t2.queuedUpstream, false, 'silence is a stall, not a queue');
  t2.firstToken();
  t2.keepAlive();
  assert.equal(t2.keepAlives, 0);
  assert.equal(t2.queuedUpstream, false);
});

test('the longest gap between chunks after the first token is measured (what the idle timeout learns)', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(30);
  t.activity(); // before the first token: not a gap
  t.firstToken();
  for (const gap of [5, 20, 7]) {
    c.advance(gap);
    t.activity();
  }
  assert.equal(t.maxGapMs, 20);
});

test('with a split floor, a silence is cut at half of what is left before the deadline, never under the floor', () => {
  const c = new FakeClock();
  const t = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 100, idleMs: 10_000, totalMs: 100_000, idleSplitFloorMs: 500 },
    4_000,
    () => {},
  );
  t.stop();
  t.firstToken(); // at 0: 4000 left, so a silence is cut after 2000 (not the 10 s idle)
  c.advance(1_999);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
  t.activity(); // at 2000: 2000 left, half is 1000
  c.advance(1_000);
  assert.equal(t.due(c.now()), 'idle');
  t.activity(); // at 3000: 1000 left, half is 500 = the floor
  c.advance(499);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
});

test('a silence is judged after the I/O already in: bytes that came while the event loop was busy are no stall', async (t) => {
  const server = net.createServer();
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  t.after(() => client.destroy());
  const [upstream] = (await once(server, 'connection')) as [net.Socket];
  t.after(() => upstream.destroy());
  await once(client, 'connect');
  const fired: string[] = [];
  let bytes = 0;
  const limits = { firstTokenMs: 3, idleMs: 3, totalMs: 10_000 };
  // Each cut says how many of the upstream's bytes had been heard when it was made.
  const timer = new AttemptTimer(
    () => performance.now(),
    limits,
    Infinity,
    (p) => fired.push(`${p}:${bytes}`),
  );
  t.after(() => timer.stop());
  timer.firstToken();
  client.on('data', () => {
    bytes++;
    timer.activity();
  });
  // From the check phase the loop goes to the timers (the idle timer is due by then), and only then to I/O: the
  // upstream's byte is in the socket before the idle timer fires, but read after it.
  setImmediate(() => {
    upstream.write('x');
    const until = performance.now() + 30;
    while (performance.now() < until); // a busy event loop
  });
  const phase = await new Promise((resolve) => {
    const seen = setInterval(() => {
      if (fired.length > 0) resolve(fired[0]);
    }, 1);
    t.after(() => clearInterval(seen));
  });
  assert.equal(phase, 'idle:1', 'the byte is heard before the silence is judged; the silence after it is cut');
  assert.equal(fired.length, 1);
});

test('after the first token the idle limit is what the timer waits for, not the rest of the first-token timeout', async () => {
  const started = performance.now();
  const phase = await new Promise<string>((resolve) => {
    const t = new AttemptTimer(
      () => performance.now(),
      { firstTokenMs: 5_000, idleMs: 20, totalMs: 60_000 },
      Infinity,
      resolve,
    );
    t.firstToken();
  });
  assert.equal(phase, 'idle');
  assert.ok(performance.now() - started < 2_000, 'a stall after the first token is cut at its idle limit');
});

test('a cold idle timeout gives way to the learned one once the upstream has shown its gaps', async (t) => {
  let known = false;
  const learnedIdle = () => (known ? { idleMs: 20, idleSplitFloorMs: undefined } : undefined);
  const started = performance.now();
  const learnt = setTimeout(() => (known = true), 50);
  t.after(() => clearTimeout(learnt));
  const phase = await new Promise<string>((resolve) => {
    const timer = new AttemptTimer(
      () => performance.now(),
      { firstTokenMs: 60_000, idleMs: 30_000, totalMs: 60_000, learnedIdle },
      Infinity,
      resolve,
    );
    t.after(() => timer.stop());
    timer.firstToken();
  });
  assert.equal(phase, 'idle');
  assert.ok(performance.now() - started < 5_000, 'cut at the learned limit, not after the cold 30 s');
});

test('a silence its whole upstream shares waits for the quiet floor; one answer silent while the others go on is cut', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const t = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 1_000, idleMs: 500, totalMs: 60_000, quietIdleFloorMs: 2_000, upstream },
    Infinity,
    () => {},
  );
  t.stop(); // the pure `due` logic only
  t.firstToken();
  t.activity();
  c.advance(600);
  assert.equal(t.due(c.now()), undefined, 'nobody on the upstream spoke since: maybe the upstream, not this answer');
  upstream.lastByteAt = c.now(); // another attempt on the same upstream received bytes
  assert.equal(t.due(c.now()), 'idle', 'the others go on: this answer stalled');
  const t2 = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 1_000, idleMs: 500, totalMs: 60_000, quietIdleFloorMs: 2_000, upstream },
    Infinity,
    () => {},
  );
  t2.stop();
  t2.firstToken();
  t2.activity();
  c.advance(1_999);
  assert.equal(t2.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t2.due(c.now()), 'idle', 'a silence the whole upstream shares is cut at the quiet floor');
});

/** An attempt on `upstream` whose due logic is read on the fake clock (no real timer runs). */
function onUpstream(
  c: FakeClock,
  upstream: UpstreamHeard,
  t: Partial<AttemptTimeouts> = {},
  deadlineAt = Infinity,
): AttemptTimer {
  const timer = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 1_000, idleMs: 500, totalMs: 600_000, excuseSharedSilence: true, upstream, ...t },
    deadlineAt,
    () => {},
  );
  // Only the due logic is read here; `stop()` would also end the attempt's prefill, which these tests need kept.
  clearTimeout((timer as unknown as { handle: NodeJS.Timeout }).handle);
  return timer;
}

/** A stream under way: its first token came, then a chunk now. */
function streaming(c: FakeClock, upstream: UpstreamHeard, t: Partial<AttemptTimeouts> = {}, deadlineAt = Infinity) {
  const a = onUpstream(c, upstream, t, deadlineAt);
  a.activity();
  a.firstToken();
  return a;
}

test('a silence the whole upstream shares while it reads a prompt sent as it fell quiet lasts until that prompt is due', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const a = streaming(c, upstream);
  c.advance(100);
  const long = onUpstream(c, upstream, { prefillMs: 8_000 }); // sent 100 ms after a's last chunk
  c.advance(7_000);
  assert.equal(a.due(c.now()), undefined, 'the engine is reading the long prompt: every stream there waits');
  c.advance(1_100);
  assert.equal(a.due(c.now()), 'idle', 'past the prompt’s own first-token time the upstream is stuck: cut');
  long.stop();
  assert.equal(upstream.prefillDueAt(Infinity), -Infinity, 'an attempt that ended explains no silence');
});

test('a prompt sent long after the upstream fell quiet does not excuse its silence', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const a = streaming(c, upstream);
  c.advance(400);
  assert.equal(a.due(c.now()), undefined);
  c.advance(200); // 600 ms of silence: past a's own 500 ms, and a request sent now came after the silence began
  onUpstream(c, upstream, { prefillMs: 8_000 });
  assert.equal(a.due(c.now()), 'idle', 'a hung upstream still sent requests is not excused for ever');
});

test('a prompt whose first token came no longer holds the others, and a silence shared and ended is not counted', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const a = streaming(c, upstream);
  const long = onUpstream(c, upstream, { prefillMs: 8_000 });
  c.advance(6_000);
  long.activity(); // the long prompt's first token: the upstream speaks again
  long.firstToken();
  assert.equal(upstream.prefillDueAt(Infinity), -Infinity, 'its prompt is read');
  assert.equal(a.due(c.now()), undefined, 'paused with the whole upstream, not stalled: its own limit starts now');
  c.advance(499);
  assert.equal(a.due(c.now()), undefined);
  c.advance(1);
  assert.equal(a.due(c.now()), 'idle', 'the upstream goes on and this answer does not: a stall');
});

test('a pinned idle timeout excuses no silence of the whole upstream', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const a = streaming(c, upstream, { excuseSharedSilence: false });
  onUpstream(c, upstream, { prefillMs: 8_000 });
  c.advance(500);
  assert.equal(a.due(c.now()), 'idle');
});

test('the wait for a prefill still leaves a retry room before the deadline', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const a = streaming(c, upstream, { idleSplitFloorMs: 500 }, 10_000);
  onUpstream(c, upstream, { prefillMs: 8_000 });
  c.advance(4_999);
  assert.equal(a.due(c.now()), undefined);
  c.advance(1);
  assert.equal(a.due(c.now()), 'idle', 'cut at half of what was left, not at the prefill’s 8 s');
});

/** An upstream some attempt heard from just now, with no first token yet. */
function aliveUpstream(c: FakeClock): UpstreamHeard {
  const upstream = new UpstreamHeard();
  upstream.lastByteAt = c.now();
  return upstream;
}

/** Another attempt on `upstream`, sent now, that has its first token at once. */
function startsNow(c: FakeClock, upstream: UpstreamHeard): void {
  const other = onUpstream(c, upstream);
  other.activity();
  other.firstToken();
}

const queued = { firstTokenMs: 3_000, queueHoldMs: 15_000 };

test('past its first-token time, a stream waiting its turn in an alive upstream is not cut until passed over', () => {
  const c = new FakeClock();
  const upstream = aliveUpstream(c);
  const a = onUpstream(c, upstream, queued);
  c.advance(3_000);
  upstream.lastByteAt = c.now(); // the streams running there go on
  assert.equal(a.due(c.now()), undefined, 'nobody sent after it has started: it waits in the engine’s queue');
  c.advance(1_000);
  upstream.lastByteAt = c.now();
  startsNow(c, upstream); // sent 4 s after it, started before it
  assert.equal(a.due(c.now()), 'first_token', 'passed over: stalled');
});

test('a stream sent just after it and started first does not count as passing it over', () => {
  const c = new FakeClock();
  const upstream = aliveUpstream(c);
  const a = onUpstream(c, upstream, queued);
  c.advance(100);
  startsNow(c, upstream); // two connections may deliver in either order
  c.advance(2_900);
  upstream.lastByteAt = c.now();
  assert.equal(a.due(c.now()), undefined);
});

test('a first token waited for in a queue is still cut when the upstream falls quiet, at the hold, or where pinned', () => {
  const c = new FakeClock();
  const upstream = aliveUpstream(c);
  const quiet = onUpstream(c, upstream, queued);
  c.advance(3_000); // nothing heard there for 3 s
  assert.equal(quiet.due(c.now()), 'first_token', 'a silent upstream is not queueing us: it is stuck');
  const held = onUpstream(c, upstream, queued);
  for (let ms = 0; ms < 15_000; ms += 1_000) {
    upstream.lastByteAt = c.now();
    if (ms >= 3_000) assert.equal(held.due(c.now()), undefined);
    c.advance(1_000);
  }
  upstream.lastByteAt = c.now();
  assert.equal(held.due(c.now()), 'first_token', 'its hold (the deadline split) is over');
  const pinned = onUpstream(c, upstream, { firstTokenMs: 3_000 });
  c.advance(3_000);
  upstream.lastByteAt = c.now();
  assert.equal(pinned.due(c.now()), 'first_token', 'a pinned first_token is used as it is');
  const said = onUpstream(c, upstream, queued);
  said.keepAlive();
  c.advance(3_000);
  upstream.lastByteAt = c.now();
  assert.equal(said.due(c.now()), 'first_token', 'a provider that says it queues us (keep-alives) is pushback');
});

test('a whole answer waits its turn, then has its first-token time from when it started', () => {
  const c = new FakeClock();
  const upstream = aliveUpstream(c);
  const a = onUpstream(c, upstream, { ...queued, wholeAnswer: true });
  c.advance(5_000);
  upstream.lastByteAt = c.now();
  assert.equal(a.due(c.now()), undefined, 'nobody sent with or after it has started: it is still queued');
  startsNow(c, upstream); // the engine reaches the requests sent after it: it started about now
  c.advance(2_999);
  upstream.lastByteAt = c.now();
  assert.equal(a.due(c.now()), undefined);
  c.advance(1);
  assert.equal(a.due(c.now()), 'first_token', '3 s after it started, its answer is late');
});

test('a keep-alive hold that a request sent well after it on the same upstream has passed is a stall, not a queue', () => {
  const c = new FakeClock();
  const upstream = new UpstreamHeard();
  const held = onUpstream(c, upstream);
  held.keepAlive();
  assert.equal(held.queuedUpstream, true, 'held with keep-alives and nobody passed it: waiting its turn');
  c.advance(100);
  startsNow(c, upstream);
  assert.equal(held.queuedUpstream, true, 'one sent within the slack may be delivered first');
  c.advance(900);
  const later = onUpstream(c, upstream);
  c.advance(200);
  later.activity();
  later.firstToken();
  assert.equal(held.queuedUpstream, false, 'a request sent 1 s after it started first: this one is stalled');
});
