import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planArrivals, rateAt } from '../../../src/storm/arrivals.ts';
import { percentile } from '../../../src/percentile.ts';
import { summarize, type RequestRecord } from '../../../src/storm/summary.ts';
import { summaryTable } from '../../../src/storm/table.ts';

const mix = {
  stream: 0.5,
  maxTokens: [10, 20] as [number, number],
  priorities: { high: 1, normal: 2, low: 1 },
  deadlineS: 30,
};

test('rateAt interpolates the curve, steps where two points share a time, and stays flat after the end', () => {
  const curve = [
    [0, 10],
    [10, 20],
    [10, 80],
    [12, 80],
    [12, 20],
  ] as const;
  const cases: [number, number][] = [
    [0, 10],
    [5, 15],
    [10, 20],
    [10.5, 80],
    [11, 80],
    [30, 20],
    [-1, 10],
  ];
  for (const [t, want] of cases) assert.equal(rateAt(curve, t), want, `t=${t}`);
});

test('the same seed plans the same storm; another seed plans another', () => {
  const a = planArrivals({ seed: 7, curve: [[0, 50]], durationS: 10, mix });
  const b = planArrivals({ seed: 7, curve: [[0, 50]], durationS: 10, mix });
  const c = planArrivals({ seed: 8, curve: [[0, 50]], durationS: 10, mix });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test("a mix's prompt lengths pad each prompt to its drawn tokens; without them a prompt is a few tokens", () => {
  const plain = planArrivals({ seed: 7, curve: [[0, 50]], durationS: 10, mix });
  const rag = planArrivals({ seed: 7, curve: [[0, 50]], durationS: 10, mix: { ...mix, promptTokens: [100, 4000] } });
  assert.ok(rag.length > 100);
  for (const a of rag) {
    assert.ok(a.promptTokens !== undefined && a.promptTokens >= 100 && a.promptTokens <= 4000);
    assert.equal(a.prompt.length, 4 * a.promptTokens, 'four characters a token, as the simulator counts');
    assert.ok(a.prompt.startsWith(`storm 7 request ${a.index} `));
  }
  assert.ok(Math.max(...rag.map((a) => a.promptTokens as number)) > 3500, 'the range is drawn across');
  for (const a of plain) {
    assert.equal(a.promptTokens, undefined);
    assert.equal(a.prompt, `storm 7 request ${a.index}`);
  }
});

test('arrivals follow the rate curve and the mix within statistical tolerance', () => {
  const plan = planArrivals({
    seed: 1,
    curve: [
      [0, 100],
      [20, 100],
      [20, 300],
      [40, 300],
    ],
    durationS: 40,
    mix,
  });
  const first = plan.filter((a) => a.atMs < 20_000).length;
  const second = plan.length - first;
  assert.ok(Math.abs(first - 2000) < 150, `first half ${first}`);
  assert.ok(Math.abs(second - 6000) < 300, `second half ${second}`);
  const streams = plan.filter((a) => a.stream).length / plan.length;
  assert.ok(Math.abs(streams - 0.5) < 0.03);
  const high = plan.filter((a) => a.priority === 'high').length / plan.length;
  assert.ok(Math.abs(high - 0.25) < 0.03);
  assert.ok(plan.every((a) => a.maxTokens >= 10 && a.maxTokens <= 20));
  assert.ok(
    plan.every((a, i) => i === 0 || a.atMs >= (plan[i - 1]?.atMs ?? 0)),
    'in time order',
  );
});

test('summaries count successes per priority, failure reasons, silent truncations and amplification', () => {
  const rec = (
    priority: RequestRecord['priority'],
    ok: boolean,
    latencyMs: number,
    reason = 'http_503',
    silent = false,
  ): RequestRecord => ({
    priority,
    stream: true,
    latencyMs,
    ttftMs: ok ? latencyMs / 2 : undefined,
    verdict: ok ? { ok: true } : { ok: false, reason, silentTruncation: silent },
  });
  const s = summarize(
    'x',
    [
      rec('high', true, 100),
      rec('high', true, 200),
      rec('low', false, 5),
      rec('low', false, 50, 'silent_truncation', true),
    ],
    6,
    1,
  );
  assert.equal(s.successPct, 50);
  assert.deepEqual(s.successPctByPriority, { high: 100, low: 0 });
  assert.deepEqual(s.failures, { http_503: 1, silent_truncation: 1 });
  assert.equal(s.silentTruncations, 1);
  assert.equal(s.amplification, 1.5);
  assert.equal(s.latencyP50Ms, 100);
  assert.equal(s.errorP50Ms, 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
});

test("the table shows each upstream's peak in flight beside its cap, and a dash where nothing was measured", () => {
  const base = summarize('spillway', [], 0, 0);
  const table = summaryTable('x', [
    {
      ...base,
      peaks: [
        { upstream: 'a', peak: 24, cap: 24 },
        { upstream: 'b', peak: 13, cap: undefined },
      ],
    },
    { ...base, target: 'best possible' },
  ]);
  assert.match(table, /\| peak in flight \/ cap, per upstream \| a 24\/24, b 13\/— \| — \|/);
});
