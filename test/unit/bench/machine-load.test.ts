import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stealPercent } from '../../../bench/machine-load.ts';

test('steal is the share of all CPU ticks between two readings that the hypervisor took', () => {
  // /proc/stat's cpu line: user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice.
  const start = [1000, 0, 200, 5000, 10, 0, 5, 300, 0, 0];
  const cases: [string, number[], number | null][] = [
    ['none stolen', [1100, 0, 220, 5080, 10, 0, 5, 300, 0, 0], 0],
    ['half the time stolen', [1080, 0, 220, 5000, 10, 0, 5, 400, 0, 0], 50],
    ['a quarter', [1100, 0, 200, 5200, 10, 0, 5, 400, 0, 0], 25],
    // Time a guest VM ran is in user too: counted once, or the share reads low.
    ['half, with guest time', [1080, 0, 220, 5000, 10, 0, 5, 400, 60, 0], 50],
    ['no time passed', start, null],
  ];
  for (const [name, end, want] of cases) {
    const got = stealPercent(start, end);
    if (want === null) assert.equal(got, null, name);
    else assert.ok(got !== null && Math.abs(got - want) < 1e-9, `${name}: ${String(got)}`);
  }
});
