import { Pool } from './undici-dispatchers.ts';
import type { UpstreamConfig } from '../config/types.ts';
import type { TimeoutRow } from '../observe/metrics.ts';
import { TimeoutLearner } from './timeout-learner.ts';
import { chooseTimeouts } from './adaptive-timeouts.ts';
import type { UpstreamKind } from './upstream-kind.ts';
import { UpstreamHeard } from './upstream-heard.ts';

/**
 * One undici pool per upstream: keep-alive connections, no pipelining (an LLM answer can take minutes; a request
 * queued behind it on the same socket would wait for nothing), a connection cap, and the connect timeout.
 * Our own AttemptTimer owns first-token/idle/total, so undici's header and body timeouts are turned off.
 */
export class UpstreamPools {
  private readonly pools = new Map<
    string,
    { pool: Pool; basePath: string; upstream: UpstreamConfig; heard: UpstreamHeard }
  >();
  /**
   * What the attempts through these pools showed (times to first token, gaps between chunks), for the adaptive
   * timeouts. Kept beside the pools because both are per upstream and live as long as one config.
   */
  readonly timing = new TimeoutLearner();
  private readonly upstreams: readonly UpstreamConfig[];
  private readonly kindOf: (u: UpstreamConfig) => UpstreamKind;

  /** `kindOf` answers an upstream's kind as known now (a startup probe may learn it after the pools exist). */
  constructor(upstreams: readonly UpstreamConfig[], kindOf: (u: UpstreamConfig) => UpstreamKind = (u) => u.kind) {
    this.upstreams = upstreams;
    this.kindOf = kindOf;
    for (const u of upstreams) {
      const url = new URL(u.url);
      const pool = new Pool(url.origin, {
        connections: u.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: { timeout: u.timeouts.connectMs },
      });
      const basePath = url.pathname.replace(/\/+$/, '');
      this.pools.set(u.name, {
        pool,
        basePath,
        upstream: u,
        heard: new UpstreamHeard(),
      });
    }
  }

  /** The timeouts in force (pinned, or learned) for every upstream, model and mode attempted so far. */
  timeoutRows(): TimeoutRow[] {
    const rows: TimeoutRow[] = [];
    for (const s of this.timing.seen()) {
      const u = this.upstreams.find((x) => x.name === s.upstream);
      if (u === undefined) continue;
      const learned = this.timing.learned(s.upstream, s.model, s.stream, s.shape);
      const t = chooseTimeouts({
        pinned: u.timeouts,
        learned,
        stream: s.stream,
        remainingMs: Infinity,
        retryMayFollow: false,
        // A non-stream answer's bound is its length's: shown for an answer of the usual length here.
        maxTokens: s.stream ? undefined : learned.answerTokens,
      });
      rows.push({
        upstream: s.upstream,
        model: s.model,
        mode: `${s.stream ? 'stream' : 'json'}${s.shape === 'structured' ? '_structured' : ''}`,
        firstTokenMs: t.firstTokenMs,
        idleMs: t.idleMs,
      });
    }
    return rows;
  }

  get(name: string): { pool: Pool; basePath: string; heard: UpstreamHeard } {
    const p = this.pools.get(name);
    if (p === undefined) throw new Error(`no pool for upstream ${name}`);
    return p;
  }

  /** The upstream's kind as known now. */
  kind(name: string): UpstreamKind {
    const p = this.pools.get(name);
    if (p === undefined) throw new Error(`no pool for upstream ${name}`);
    return this.kindOf(p.upstream);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.pool.destroy()));
  }
}
