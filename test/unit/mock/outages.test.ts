import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OutageSchedule,
  nextChange,
  outageAt,
  outageProblems,
  type Outage,
  type Timers,
} from '../../../src/mock/outages.ts';

const WINDOWS: Outage[] = [
  { startMs: 100, endMs: 300, mode: 'refuse' },
  { startMs: 300, endMs: 400, mode: 'hang' },
  { startMs: 1000, endMs: 1500, mode: 'refuse' },
];

/** Timers on a fake clock: advance() fires what is due, in order; `skew` makes every timer fire early or late. */
class FakeTimers implements Timers {
  t = 0;
  skew = 0;
  private pending: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.pending.push({ at: this.t + Math.max(1, ms + this.skew), fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  advanceTo(t: number): void {
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending[0];
      if (next === undefined || next.at > t) break;
      this.pending.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = t;
  }
  get scheduled(): number {
    return this.pending.length;
  }
}

function record(timers: FakeTimers, outages: Outage[]): { log: string[]; schedule: OutageSchedule } {
  const log: string[] = [];
  const schedule = new OutageSchedule(outages, timers, {
    start: (o, i) => log.push(`${timers.now()} start ${i} ${o.mode}`),
    end: (_o, i) => log.push(`${timers.now()} end ${i}`),
  });
  return { log, schedule };
}

test('the outage in force at each moment: windows are half-open [startMs, endMs)', () => {
  const table: [number, number | undefined][] = [
    [0, undefined],
    [99, undefined],
    [100, 0],
    [299, 0],
    [300, 1],
    [399, 1],
    [400, undefined],
    [1000, 2],
    [1500, undefined],
  ];
  for (const [t, want] of table) assert.equal(outageAt(WINDOWS, t), want, `t=${t}`);
  const changes: [number, number | undefined][] = [
    [0, 100],
    [100, 300],
    [300, 400],
    [400, 1000],
    [1200, 1500],
    [1500, undefined],
  ];
  for (const [t, want] of changes) assert.equal(nextChange(WINDOWS, t), want, `after ${t}`);
});

test('outages start and end on time on a fake clock, back-to-back windows included', () => {
  const timers = new FakeTimers();
  const { log, schedule } = record(timers, WINDOWS);
  schedule.start();
  timers.advanceTo(2000);
  assert.deepEqual(log, [
    '100 start 0 refuse',
    '300 end 0',
    '300 start 1 hang',
    '400 end 1',
    '1000 start 2 refuse',
    '1500 end 2',
  ]);
  assert.equal(timers.scheduled, 0, 'nothing left to wake for');
});

test('a window that opens at 0 starts at once; stop() cancels what is scheduled', () => {
  const timers = new FakeTimers();
  const { log, schedule } = record(timers, [{ startMs: 0, endMs: 50, mode: 'hang' }]);
  schedule.start();
  assert.deepEqual(log, ['0 start 0 hang']);
  assert.equal(schedule.active, 0);
  schedule.stop();
  timers.advanceTo(100);
  assert.deepEqual(log, ['0 start 0 hang'], 'no end after stop()');
});

test('a timer that fires early sleeps for the rest; one that fires late catches up', () => {
  const early = new FakeTimers();
  early.skew = -3;
  const a = record(early, [WINDOWS[0] as Outage]);
  a.schedule.start();
  early.advanceTo(500);
  assert.deepEqual(a.log, ['100 start 0 refuse', '300 end 0']);

  const late = new FakeTimers();
  late.skew = 150;
  const b = record(late, [WINDOWS[0] as Outage, { startMs: 600, endMs: 700, mode: 'hang' }]);
  b.schedule.start();
  late.advanceTo(2000);
  // Woken at 250 (past the start), it starts; the end is noticed on the next wake-up; the short second window
  // is missed whole when the machine is that slow, rather than started after its end.
  assert.deepEqual(b.log, ['250 start 0 refuse', '450 end 0']);
});

test('bad windows are named: empty, negative, unsorted or overlapping, unknown mode', () => {
  assert.deepEqual(outageProblems(WINDOWS), []);
  const problems = outageProblems([
    { startMs: 100, endMs: 100, mode: 'refuse' },
    { startMs: 50, endMs: 200, mode: 'nap' as 'hang' },
    { startMs: -1, endMs: 5, mode: 'hang' },
  ]).join('\n');
  assert.match(problems, /outages\[0\]\.endMs=100 is not an integer after startMs/);
  assert.match(problems, /outages\[1\] starts before outages\[0\] ends/);
  assert.match(problems, /outages\[1\]\.mode=nap/);
  assert.match(problems, /outages\[2\]\.startMs=-1/);
});
