import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADAPTIVE,
  boundIdleMs,
  chooseTimeouts,
  promptSizeFactor,
  type TimeoutsInput,
} from '../../../src/upstream/adaptive-timeouts.ts';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { TimeoutLearner } from '../../../src/upstream/timeout-learner.ts';
import { RecentSamples } from '../../../src/upstream/recent-samples.ts';
import { percentile } from '../../../src/percentile.ts';
import { FakeClock } from '../../../src/clock.ts';

const auto = { firstTokenMs: null, idleMs: null };
const none = { firstTokenMs: undefined, gapMs: undefined };

test('where the lower idle floor applies, a silence the whole upstream shares keeps the quiet floor', () => {
  const base: TimeoutsInput = {
    pinned: auto,
    learned: { firstTokenMs: 5, gapMs: 2 },
    stream: true,
    remainingMs: 30_000,
    retryMayFollow: true,
  };
  assert.equal(chooseTimeouts({ ...base, exactRecovery: true }).quietIdleFloorMs, ADAPTIVE.quietUpstreamIdleFloorMs);
  assert.equal(chooseTimeouts({ ...base, stream: false }).quietIdleFloorMs, ADAPTIVE.quietUpstreamIdleFloorMs);
  assert.equal(chooseTimeouts(base).quietIdleFloorMs, undefined, 'a cut that would end the stream: 5 s anyway');
  assert.equal(
    chooseTimeouts({ ...base, exactRecovery: true, pinned: { firstTokenMs: null, idleMs: 300 } }).quietIdleFloorMs,
    undefined,
    'a pinned idle timeout is used as it is',
  );
});

test('first-token and idle timeouts: table', () => {
  const base: TimeoutsInput = {
    pinned: auto,
    learned: none,
    stream: true,
    remainingMs: 600_000,
    retryMayFollow: false,
  };
  const cases: { name: string; over: Partial<TimeoutsInput>; first: number; idle: number; split?: number }[] = [
    {
      name: 'cold stream: conservative values',
      over: {},
      first: ADAPTIVE.coldStreamFirstTokenMs,
      idle: ADAPTIVE.coldIdleMs,
    },
    {
      name: 'cold non-stream: the whole answer is the first byte',
      over: { stream: false },
      first: ADAPTIVE.coldJsonFirstTokenMs,
      idle: ADAPTIVE.coldIdleMs,
    },
    { name: 'learned: p99 × 3', over: { learned: { firstTokenMs: 2_000, gapMs: 4_000 } }, first: 6_000, idle: 12_000 },
    {
      name: 'learned, tiny: the floors',
      over: { learned: { firstTokenMs: 5, gapMs: 2 } },
      first: ADAPTIVE.firstTokenFloorMs,
      idle: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'learned, tiny, a stream continued exactly if cut: the lower idle floor',
      over: { learned: { firstTokenMs: 5, gapMs: 2 }, exactRecovery: true, retryMayFollow: true },
      first: ADAPTIVE.firstTokenFloorMs,
      idle: ADAPTIVE.recoverableIdleFloorMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'a non-stream answer is never continued: the usual idle floor (its length unknown: the cold first token)',
      over: { stream: false, learned: { firstTokenMs: 5, gapMs: 2 }, exactRecovery: true },
      first: ADAPTIVE.coldJsonFirstTokenMs,
      idle: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'a non-stream body begun, a retry may follow: the lower idle floor (a body is written whole)',
      over: { stream: false, learned: { firstTokenMs: 5, gapMs: 2 }, retryMayFollow: true },
      first: ADAPTIVE.coldJsonFirstTokenMs,
      idle: ADAPTIVE.recoverableIdleFloorMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'the lower floor is a floor: an upstream whose own gaps are longer is judged by them',
      over: { learned: { firstTokenMs: 5, gapMs: 400 }, exactRecovery: true, retryMayFollow: true },
      first: ADAPTIVE.firstTokenFloorMs,
      idle: 1_200,
      split: 500,
    },
    {
      name: 'learned, huge: the ceilings',
      over: { learned: { firstTokenMs: 400_000, gapMs: 400_000 } },
      first: ADAPTIVE.firstTokenCeilingMs,
      idle: ADAPTIVE.idleCeilingMs,
    },
    {
      name: 'a retry may follow: cut at half of what is left',
      over: { remainingMs: 30_000, retryMayFollow: true },
      first: 15_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'a retry may follow, little left: never under the floor',
      over: { remainingMs: 2_000, retryMayFollow: true },
      first: ADAPTIVE.firstTokenFloorMs,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'a retry may follow, slow model: never before its own normal p99',
      over: { remainingMs: 30_000, retryMayFollow: true, learned: { firstTokenMs: 20_000, gapMs: undefined } },
      first: 20_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'a retry may follow, learned is shorter than half: learned wins',
      over: { remainingMs: 30_000, retryMayFollow: true, learned: { firstTokenMs: 1_000, gapMs: 6_000 } },
      first: 3_000,
      idle: 18_000,
      split: 6_000,
    },
    {
      name: 'pinned wins, and is not split',
      over: {
        pinned: { firstTokenMs: 120_000, idleMs: 90_000 },
        remainingMs: 30_000,
        retryMayFollow: true,
        learned: { firstTokenMs: 1_000, gapMs: 1_000 },
      },
      first: 120_000,
      idle: 90_000,
    },
    {
      name: 'non-stream, a tenth crawls so p99 is long: its length bounds it (median 20 ms/token × 48 × 3)',
      over: {
        stream: false,
        remainingMs: 30_000,
        retryMayFollow: true,
        maxTokens: 48,
        learned: { firstTokenMs: 28_000, gapMs: undefined, msPerToken: 20 },
      },
      first: ADAPTIVE.firstTokenFloorMs,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'non-stream, a long answer allowed: its length bound, up to half of what is left',
      over: {
        stream: false,
        remainingMs: 30_000,
        retryMayFollow: true,
        maxTokens: 4096,
        learned: { firstTokenMs: 2_000, gapMs: undefined, msPerToken: 20 },
      },
      first: 15_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'non-stream, 600 tokens allowed where answers had 10: not cut at their p99 (15 ms/token × 600 × 3)',
      over: {
        stream: false,
        remainingMs: 60_000,
        retryMayFollow: true,
        maxTokens: 600,
        learned: { firstTokenMs: 150, gapMs: undefined, msPerToken: 15 },
      },
      first: 27_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'non-stream, no max_tokens, short answers so far: any length may come, half of what is left',
      over: {
        stream: false,
        remainingMs: 60_000,
        retryMayFollow: true,
        learned: { firstTokenMs: 150, gapMs: undefined, msPerToken: 15 },
      },
      first: 30_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'non-stream, no max_tokens: no length bound',
      over: {
        stream: false,
        remainingMs: 30_000,
        retryMayFollow: true,
        learned: { firstTokenMs: 28_000, gapMs: undefined, msPerToken: 20 },
      },
      first: 28_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.recoverableIdleFloorMs,
    },
    {
      name: 'non-stream, last attempt: no length bound (nothing to hand it to)',
      over: {
        stream: false,
        remainingMs: 30_000,
        maxTokens: 48,
        learned: { firstTokenMs: 28_000, gapMs: undefined, msPerToken: 20 },
      },
      first: 84_000,
      idle: ADAPTIVE.coldIdleMs,
    },
    {
      name: "stream: the length bound is the pace cut's business, not this one",
      over: {
        remainingMs: 30_000,
        retryMayFollow: true,
        maxTokens: 48,
        learned: { firstTokenMs: 28_000, gapMs: undefined, msPerToken: 20 },
      },
      first: 28_000,
      idle: ADAPTIVE.coldIdleMs,
      split: ADAPTIVE.idleFloorMs,
    },
    {
      name: 'only idle pinned',
      over: { pinned: { firstTokenMs: null, idleMs: 1_000 }, learned: { firstTokenMs: 2_000, gapMs: 9_000 } },
      first: 6_000,
      idle: 1_000,
    },
  ];
  for (const c of cases) {
    const t = chooseTimeouts({ ...base, ...c.over });
    assert.equal(t.firstTokenMs, c.first, `${c.name}: first token`);
    assert.equal(t.idleMs, c.idle, `${c.name}: idle`);
    assert.equal(t.idleSplitFloorMs, c.split, `${c.name}: idle split`);
  }
  assert.equal(boundIdleMs(30_000, 5_000, 8_000), 5_000);
  assert.equal(boundIdleMs(30_000, 5_000, 20_000), 10_000);
  assert.equal(boundIdleMs(6_000, 5_000, 100_000), 6_000);
});

/** Drives the real AttemptTimer (its pure `due`) on a fake clock with the chosen timeouts. */
function attemptOn(clock: FakeClock, input: TimeoutsInput, deadlineAt: number): AttemptTimer {
  const t = new AttemptTimer(
    () => clock.now(),
    { ...chooseTimeouts(input), totalMs: 600_000 },
    deadlineAt,
    () => {},
  );
  t.stop();
  return t;
}

/** Advances until a phase is due (1 ms steps would be slow: 100 ms is finer than any floor here). */
function cutAt(clock: FakeClock, t: AttemptTimer, limitMs: number): { at: number; phase: string } {
  const start = clock.now();
  while (clock.now() - start < limitMs) {
    const phase = t.due(clock.now());
    if (phase !== undefined) return { at: clock.now() - start, phase };
    clock.advance(100);
  }
  return { at: Infinity, phase: 'none' };
}

test('a stall is cut while a retry still fits: cold, warm, and a provider queueing beyond its normal TTFT', () => {
  const deadlineMs = 30_000;
  const cases: { name: string; learned: TimeoutsInput['learned']; cutBy: number }[] = [
    { name: 'cold (no samples yet)', learned: none, cutBy: deadlineMs / 2 },
    { name: 'warm: p99 1.2 s', learned: { firstTokenMs: 1_200, gapMs: 300 }, cutBy: 3_600 },
  ];
  for (const c of cases) {
    const clock = new FakeClock();
    const first = attemptOn(
      clock,
      { pinned: auto, learned: c.learned, stream: true, remainingMs: deadlineMs, retryMayFollow: true },
      deadlineMs,
    );
    for (let i = 0; i < 10; i++) first.keepAlive(); // the provider holds us on `: keep-alive`
    const cut = cutAt(clock, first, deadlineMs);
    assert.equal(cut.phase, 'first_token', c.name);
    assert.ok(cut.at <= c.cutBy, `${c.name}: cut at ${cut.at} ms`);
    assert.equal(first.queuedUpstream, true);
    // The retry, on what is left, still has at least half the deadline, and is itself bounded by the deadline.
    const left = deadlineMs - clock.now();
    assert.ok(left >= deadlineMs / 2, `${c.name}: ${left} ms left for the retry`);
    const retry = attemptOn(
      clock,
      { pinned: auto, learned: c.learned, stream: true, remainingMs: left, retryMayFollow: false },
      deadlineMs,
    );
    const end = cutAt(clock, retry, deadlineMs);
    assert.ok(clock.now() <= deadlineMs, `${c.name}: nothing waits past the deadline`);
    assert.ok(end.phase === 'first_token' || end.phase === 'deadline', c.name);
  }
});

test('a stall mid-answer leaves the retry (or continuation) half of what is left', () => {
  const clock = new FakeClock();
  const t = attemptOn(
    clock,
    {
      pinned: auto,
      learned: { firstTokenMs: 500, gapMs: 200 },
      stream: true,
      remainingMs: 30_000,
      retryMayFollow: true,
    },
    30_000,
  );
  clock.advance(500);
  t.firstToken();
  for (let i = 0; i < 40; i++) {
    clock.advance(100);
    t.activity();
  } // at 4.5 s the upstream goes silent
  const cut = cutAt(clock, t, 30_000);
  assert.equal(cut.phase, 'idle');
  assert.ok(cut.at <= ADAPTIVE.idleFloorMs, `cut after ${cut.at} ms of silence`);
});

test('a prompt longer than those the first tokens were learned on: every first-token value scaled by its size', () => {
  const ref = ADAPTIVE.promptReferenceTokens;
  const cases: { name: string; prompt: number | undefined; learnedOn: number | undefined; factor: number }[] = [
    { name: 'size unknown', prompt: undefined, learnedOn: 100, factor: 1 },
    { name: 'within the reference size, learned on tiny prompts', prompt: ref, learnedOn: 50, factor: 1 },
    { name: 'shorter than those learned on', prompt: 10_000, learnedOn: 30_000, factor: 1 },
    { name: 'ten times the reference, learned on tiny prompts', prompt: 10 * ref, learnedOn: 50, factor: 10 },
    { name: 'nothing learned yet: against the reference', prompt: 4 * ref, learnedOn: undefined, factor: 4 },
    { name: 'twice the prompts learned on', prompt: 60_000, learnedOn: 30_000, factor: 2 },
  ];
  for (const c of cases) assert.equal(promptSizeFactor(c.prompt, c.learnedOn), c.factor, c.name);

  const base: TimeoutsInput = {
    pinned: auto,
    learned: { firstTokenMs: 150, gapMs: 20, promptTokens: 50 },
    stream: true,
    remainingMs: 60_000,
    retryMayFollow: true,
    exactRecovery: true,
  };
  const short = chooseTimeouts({ ...base, promptTokens: 40 });
  assert.equal(short.firstTokenMs, ADAPTIVE.firstTokenFloorMs, 'a short prompt: the floor, as before');
  // 25k tokens (100k characters): 12.5 × the reference; its prefill is what the first token waits on.
  const long = chooseTimeouts({ ...base, promptTokens: 25_000 });
  assert.equal(long.firstTokenMs, ADAPTIVE.firstTokenFloorMs * 12.5, 'the floor scaled, above half of what is left');
  assert.equal(long.idleMs, short.idleMs, 'the gaps between tokens do not depend on the prompt');
  assert.equal(
    chooseTimeouts({ ...base, promptTokens: 25_000, learned: { ...base.learned, promptTokens: 25_000 } }).firstTokenMs,
    ADAPTIVE.firstTokenFloorMs,
    'learned on prompts of its size: not scaled',
  );
  assert.equal(
    chooseTimeouts({ ...base, promptTokens: 25_000, learned: { firstTokenMs: 4_000, gapMs: 20, promptTokens: 50 } })
      .firstTokenMs,
    50_000,
    'never before its own normal p99, scaled: a retry would wait as long',
  );
  assert.equal(
    chooseTimeouts({
      ...base,
      remainingMs: 100_000,
      promptTokens: 25_000,
      learned: { firstTokenMs: 2_000, gapMs: 20, promptTokens: 50 },
    }).firstTokenMs,
    50_000,
    'p99 × 3 scaled past half of what is left: half of what is left, where a retry still fits',
  );
  assert.equal(
    chooseTimeouts({ ...base, promptTokens: 20_000, learned: { firstTokenMs: undefined, gapMs: undefined } })
      .firstTokenMs,
    30_000,
    'cold: 60 s × 10 bounded by the ceiling, then by half of what is left',
  );
  assert.equal(
    chooseTimeouts({
      ...base,
      retryMayFollow: false,
      promptTokens: 20_000,
      learned: { firstTokenMs: undefined, gapMs: undefined },
    }).firstTokenMs,
    ADAPTIVE.firstTokenCeilingMs,
    'cold, last attempt: never above the ceiling',
  );
  assert.equal(
    chooseTimeouts({ ...base, promptTokens: 25_000, pinned: { firstTokenMs: 2_000, idleMs: null } }).firstTokenMs,
    2_000,
    'a pinned value is used as it is',
  );
});

test('an upstream quiet for over a minute may have gone cold: its first token is judged by the cold values', () => {
  const warm: TimeoutsInput = {
    pinned: auto,
    learned: { firstTokenMs: 150, gapMs: 20, msPerToken: 15 },
    stream: true,
    remainingMs: 30_000,
    retryMayFollow: true,
    maxTokens: 10,
  };
  const cases: { name: string; over: Partial<TimeoutsInput>; first: number }[] = [
    { name: 'a stream, heard from a second ago: the learned floor', over: { quietForMs: 1_000 }, first: 3_000 },
    {
      name: 'a stream, heard from a minute ago: still warm',
      over: { quietForMs: ADAPTIVE.staleAfterMs },
      first: 3_000,
    },
    {
      name: 'a stream, quiet for over a minute (Ollama unloads after 5): cold, within half of what is left',
      over: { quietForMs: ADAPTIVE.staleAfterMs + 1 },
      first: 15_000,
    },
    { name: 'never heard from: cold', over: { quietForMs: Infinity }, first: 15_000 },
    {
      name: 'quiet, the last attempt: the cold value itself',
      over: { quietForMs: Infinity, retryMayFollow: false },
      first: ADAPTIVE.coldStreamFirstTokenMs,
    },
    { name: 'a non-stream answer, heard from lately: its length bound', over: { stream: false }, first: 3_000 },
    {
      name: 'a non-stream answer, quiet: cold, within half of what is left',
      over: { stream: false, quietForMs: Infinity },
      first: 15_000,
    },
    {
      name: 'a pinned value is used as it is',
      over: { quietForMs: Infinity, pinned: { firstTokenMs: 2_000, idleMs: null } },
      first: 2_000,
    },
  ];
  for (const c of cases) assert.equal(chooseTimeouts({ ...warm, ...c.over }).firstTokenMs, c.first, c.name);
  assert.equal(
    chooseTimeouts({ ...warm, quietForMs: Infinity }).idleMs,
    chooseTimeouts(warm).idleMs,
    'the gaps between tokens still hold once it answers',
  );
});

test('a stream that offers tools may fall silent while a call is written whole: its silence is not cut as a stall', () => {
  const base: TimeoutsInput = {
    pinned: auto,
    learned: { firstTokenMs: 150, gapMs: 20 },
    stream: true,
    remainingMs: 600_000,
    retryMayFollow: false,
    exactRecovery: true,
  };
  const cases: { name: string; over: Partial<TimeoutsInput>; idle: number; quiet: number | undefined }[] = [
    {
      name: 'no tools, continued exactly if cut: the cheap-cut floor',
      over: {},
      idle: ADAPTIVE.recoverableIdleFloorMs,
      quiet: ADAPTIVE.quietUpstreamIdleFloorMs,
    },
    {
      name: 'tools, length unknown: the cold idle value, and no cheap cut (the call is lost whole)',
      over: { offersTools: true },
      idle: ADAPTIVE.coldIdleMs,
      quiet: undefined,
    },
    {
      name: 'tools, 10 ms a token × 400 allowed × 3',
      over: { offersTools: true, maxTokens: 400, tokenGapMs: 10 },
      idle: 12_000,
      quiet: undefined,
    },
    {
      name: 'tools, a short answer allowed: the usual 5 s floor',
      over: { offersTools: true, maxTokens: 50, tokenGapMs: 10 },
      idle: ADAPTIVE.idleFloorMs,
      quiet: undefined,
    },
    {
      name: 'tools, a long answer allowed: the 60 s ceiling',
      over: { offersTools: true, maxTokens: 8_192, tokenGapMs: 10 },
      idle: ADAPTIVE.idleCeilingMs,
      quiet: undefined,
    },
    {
      name: 'tools, the upstream learned longer silences still: what it learned',
      over: { offersTools: true, maxTokens: 50, tokenGapMs: 10, learned: { firstTokenMs: 150, gapMs: 4_000 } },
      idle: 12_000,
      quiet: undefined,
    },
    {
      name: 'tools, idle pinned: as pinned',
      over: { offersTools: true, pinned: { firstTokenMs: null, idleMs: 700 } },
      idle: 700,
      quiet: undefined,
    },
    {
      name: 'tools on a non-stream answer: nothing changes (its silence is the whole answer already)',
      over: { offersTools: true, stream: false },
      idle: ADAPTIVE.idleFloorMs,
      quiet: undefined,
    },
  ];
  for (const c of cases) {
    const t = chooseTimeouts({ ...base, ...c.over });
    assert.equal(t.idleMs, c.idle, `${c.name}: idle`);
    assert.equal(t.quietIdleFloorMs, c.quiet, `${c.name}: quiet floor`);
  }
  assert.equal(
    chooseTimeouts({ ...base, offersTools: true, retryMayFollow: true, remainingMs: 30_000 }).idleSplitFloorMs,
    ADAPTIVE.idleFloorMs,
    'a retry may follow: the split still leaves it room, from the usual floor',
  );
});

test('the learner keeps structured output apart: a grammar compiled before the first token is no plain answer', () => {
  const l = new TimeoutLearner();
  for (let i = 0; i < ADAPTIVE.minSamples; i++) {
    l.observe('u', 'm', true, { firstTokenMs: 100, maxGapMs: 10, pace: { meanGapMs: 10, events: 20 } });
    l.observe(
      'u',
      'm',
      true,
      { firstTokenMs: 4_000, maxGapMs: 160, pace: { meanGapMs: 160, events: 20 } },
      'structured',
    );
  }
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 100);
  assert.equal(l.learned('u', 'm', true, 'structured').firstTokenMs, 4_000);
  assert.equal(l.pace('u', 'm')?.typicalGapMs, 10);
  assert.equal(l.pace('u', 'm', 'structured')?.typicalGapMs, 160);
  assert.deepEqual(
    [...l.seen()].map((r) => r.shape),
    ['plain', 'structured'],
  );
});

test('the learner keeps the sizes of the prompts its first tokens came from: their 90th percentile', () => {
  const l = new TimeoutLearner();
  for (let i = 0; i < 18; i++) l.observe('u', 'm', true, { firstTokenMs: 100, promptTokens: 50 });
  l.observe('u', 'm', true, { firstTokenMs: 3_000, promptTokens: 30_000 });
  l.observe('u', 'm', true, { maxGapMs: 5, promptTokens: 99_999 });
  assert.equal(l.learned('u', 'm', true).promptTokens, undefined, '19 first tokens: not yet');
  l.observe('u', 'm', true, { firstTokenMs: 100 });
  assert.equal(l.learned('u', 'm', true).promptTokens, 50, 'one long prompt in twenty does not move the 90th');
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 3_000);
});

test('the learner keeps streams and non-stream answers apart, and needs enough samples', () => {
  const l = new TimeoutLearner();
  for (let i = 1; i <= ADAPTIVE.minSamples - 1; i++)
    l.observe('ds', 'deepseek-chat', true, { firstTokenMs: i * 10, maxGapMs: i });
  assert.deepEqual(
    l.learned('ds', 'deepseek-chat', true),
    { firstTokenMs: undefined, gapMs: undefined, promptTokens: undefined },
    'too few samples',
  );
  l.observe('ds', 'deepseek-chat', true, { firstTokenMs: 1_000 });
  assert.equal(l.learned('ds', 'deepseek-chat', true).firstTokenMs, 1_000, 'p99 of 20 samples is the largest');
  assert.equal(l.learned('ds', 'deepseek-chat', true).gapMs, undefined, 'gaps have 19 samples');
  assert.deepEqual(l.learned('ds', 'deepseek-chat', false), { firstTokenMs: undefined, gapMs: undefined });
  assert.deepEqual(l.learned('other', 'deepseek-chat', true), { firstTokenMs: undefined, gapMs: undefined });
});

test('recent samples: the percentile follows the newest samples as the ring turns over', () => {
  const l = new TimeoutLearner();
  for (let i = 0; i < 200; i++) l.observe('u', 'm', true, { firstTokenMs: 100 });
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 100);
  for (let i = 0; i < 200; i++) l.observe('u', 'm', true, { firstTokenMs: 5_000 });
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 5_000);
  for (let i = 0; i < 195; i++) l.observe('u', 'm', true, { firstTokenMs: 50 });
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 5_000, 'p99 of 200 still sees the 5 slow ones');
  // The sorted copy is refreshed once a twentieth of the samples are new (10 of 200): never staler than that.
  for (let i = 0; i < 10; i++) l.observe('u', 'm', true, { firstTokenMs: 50 });
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 50);
});

test('recent samples: percentiles are numeric nearest-rank over the ring, whatever the order samples came in', () => {
  const r = new RecentSamples(8);
  for (const ms of [100, 9, 1_000, 2.5, 10, 30]) r.add(ms);
  assert.equal(r.count, 6);
  assert.equal(r.percentile(50, 6), 10, 'numeric order (2.5, 9, 10, 30, 100, 1000), not text order');
  assert.equal(r.percentile(100, 6), 1_000);
  assert.equal(r.percentile(1, 6), 2.5);
  assert.equal(r.percentile(50, 7), undefined, 'too few samples');
  for (const ms of [1, 2, 3, 4, 5, 6]) r.add(ms); // the ring of 8 now holds 10, 30, 1, 2, 3, 4, 5, 6
  assert.equal(r.count, 8);
  assert.equal(r.percentile(100, 1), 30);
  assert.equal(r.percentile(50, 1), 4);
});

test('recent samples: every percentile is the one of the last `size` samples sorted, as samples come and go', () => {
  const r = new RecentSamples(50);
  const all: number[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647); // deterministic, with repeats (values mod 40)
  for (let i = 0; i < 1_000; i++) {
    const ms = next() % 40;
    r.add(ms);
    all.push(ms);
    const last = all.slice(-50).sort((a, b) => a - b);
    for (const p of [1, 50, 90, 99, 100]) assert.equal(r.percentile(p, 1), percentile(last, p), `sample ${i}, p${p}`);
  }
  r.add(NaN);
  assert.equal(r.count, 50, 'a NaN is not a sample');
});

test('recent samples: forgetting by age leaves the percentiles of the samples taken since, as samples come and go', () => {
  const r = new RecentSamples(50);
  const kept: { ms: number; at: number }[] = []; // the reference: the ring's samples, oldest first
  let seed = 11;
  const next = () => (seed = (seed * 48271) % 2147483647);
  for (let at = 0; at < 2_000; at += 1 + (next() % 3)) {
    const ms = next() % 40;
    r.add(ms, at);
    kept.push({ ms, at });
    if (kept.length > 50) kept.shift();
    const since = at - (next() % 60); // a window that grows and shrinks: what was forgotten stays forgotten
    r.forgetBefore(since);
    while (kept.length > 0 && (kept[0]?.at ?? Infinity) < since) kept.shift();
    const sorted = kept.map((k) => k.ms).sort((a, b) => a - b);
    assert.equal(r.count, kept.length, `at ${at}`);
    for (const p of [1, 50, 99, 100]) assert.equal(r.percentile(p, 1), percentile(sorted, p), `at ${at}, p${p}`);
  }
  r.forgetBefore(Infinity);
  assert.equal(r.count, 0, 'everything forgotten');
  assert.equal(r.percentile(50, 1), undefined);
  r.add(7, 5_000);
  assert.equal(r.percentile(50, 1), 7, 'and it fills again');
});

test('the learner keeps how long whole non-stream answers are: the 90th percentile of their completion tokens', () => {
  const l = new TimeoutLearner();
  for (let i = 1; i <= ADAPTIVE.minSamples; i++)
    l.observe('u', 'm', false, { firstTokenMs: 100 + i, msPerToken: 10, answerTokens: i });
  assert.equal(l.learned('u', 'm', false).answerTokens, 18);
  assert.equal(l.learned('u', 'm', true).answerTokens, undefined, 'streams: no such thing is learned');
});
