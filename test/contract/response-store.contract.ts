import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResponseStore, ResponseStoreLimits, StoredResponse } from '../../src/api/responses/response-store.ts';

/** A wall clock a test moves by hand. */
export class ManualTime {
  ms = Date.UTC(2026, 0, 1);
  readonly now = (): number => this.ms;
}

/**
 * The behaviour every store of the Responses door must have (memory, SQLite and Redis run this same suite): tenant
 * isolation, the retention, and a bounded size per tenant whatever clients send.
 */
export function responseStoreContract(
  name: string,
  make: (limits: ResponseStoreLimits) => Promise<ResponseStore>,
  opts: { skip?: string | undefined } = {},
): void {
  const it = (
    title: string,
    limits: Omit<ResponseStoreLimits, 'now'>,
    fn: (s: ResponseStore, time: ManualTime) => Promise<void>,
  ): void => {
    test(`${name}: ${title}`, { skip: opts.skip }, async (t) => {
      const time = new ManualTime();
      const s = await make({ ...limits, now: time.now });
      t.after(() => s.close());
      await fn(s, time);
    });
  };
  let n = 0;
  const response = (text = 'hi', size = 0): StoredResponse => ({
    response: {
      id: `resp_${String(++n).padStart(4, '0')}${Math.random().toString(36).slice(2)}`,
      object: 'response',
      output_text: text + 'x'.repeat(size),
    },
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: text },
    ],
    instructions: null,
  });
  const idOf = (r: StoredResponse): string => r.response.id as string;
  const big = { retentionMs: 60_000, tenantMaxBytes: 1024 * 1024 };

  it('a stored response is found by its tenant only, whole', big, async (s) => {
    const r = response('hello');
    await s.put(r, 'acme');
    assert.deepEqual(await s.get(idOf(r), 'acme'), r);
    assert.equal(await s.get(idOf(r), 'other'), undefined);
    assert.equal(await s.get(idOf(r), undefined), undefined);
    assert.equal(await s.get('resp_unknown', 'acme'), undefined);
    const keyless = response('no keys');
    await s.put(keyless, undefined);
    assert.deepEqual(await s.get(idOf(keyless), undefined), keyless);
  });

  it('a response is kept for the retention, then gone', big, async (s, time) => {
    const r = response();
    await s.put(r, 't');
    time.ms += 59_000;
    assert.deepEqual(await s.get(idOf(r), 't'), r);
    time.ms += 1_001;
    assert.equal(await s.get(idOf(r), 't'), undefined);
  });

  it(
    'a tenant holds at most its allowance: the oldest go first, other tenants keep theirs',
    { retentionMs: 60_000, tenantMaxBytes: 4096 },
    async (s, time) => {
      const other = response('other', 1000);
      await s.put(other, 'b');
      const mine: StoredResponse[] = [];
      for (let i = 0; i < 12; i++) {
        time.ms += 1;
        const r = response(`r${i}`, 1000);
        mine.push(r);
        await s.put(r, 'a');
      }
      const kept = [];
      for (const r of mine) if ((await s.get(idOf(r), 'a')) !== undefined) kept.push(r);
      assert.ok(kept.length >= 2 && kept.length <= 4, `${kept.length} of 12 kept within 4096 bytes`);
      assert.deepEqual(kept, mine.slice(-kept.length), 'the newest are the ones kept');
      assert.deepEqual(await s.get(idOf(other), 'b'), other);
    },
  );

  it(
    'an entry larger than the whole allowance is not kept, and pushes nothing out',
    { retentionMs: 60_000, tenantMaxBytes: 2048 },
    async (s) => {
      const small = response('small');
      await s.put(small, 'a');
      const huge = response('huge', 4096);
      await s.put(huge, 'a');
      assert.equal(await s.get(idOf(huge), 'a'), undefined);
      assert.deepEqual(await s.get(idOf(small), 'a'), small);
    },
  );
}
