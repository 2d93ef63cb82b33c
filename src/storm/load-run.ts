import { Agent } from 'undici';
import type { Arrival } from './arrivals.ts';
import { sendArrival, type ClientMode, type StormTarget } from './client.ts';
import type { RequestRecord } from './summary.ts';

/**
 * Fires a planned storm at a target in open loop: each arrival is sent at its planned offset whatever happened to
 * the earlier ones. `records` fills in as answers finish, so a live view can summarise while the storm runs.
 */
export class LoadRun {
  readonly records: RequestRecord[] = [];
  readonly done: Promise<void>;
  private readonly agent = new Agent({ connections: 4096, pipelining: 1, keepAliveTimeout: 10_000 });
  private stopped = false;
  private sent = 0;
  private readonly planned: number;

  constructor(
    arrivals: readonly Arrival[],
    target: (a: Arrival) => StormTarget,
    opts: { deadlineS: number; answerSeed: number; client?: ClientMode },
  ) {
    this.planned = arrivals.length;
    const pending: Promise<void>[] = [];
    this.done = new Promise<void>((resolve) => {
      const start = performance.now();
      const tick = () => {
        const now = performance.now() - start;
        while (!this.stopped && this.sent < arrivals.length && (arrivals[this.sent] as Arrival).atMs <= now) {
          const a = arrivals[this.sent++] as Arrival;
          pending.push(
            sendArrival(this.agent, target(a), a, { ...opts, t0: start }).then((r) => {
              this.records.push(r);
            }),
          );
        }
        const next = arrivals[this.sent];
        if (this.stopped || next === undefined) {
          void Promise.all(pending)
            .then(() => this.agent.close())
            .then(() => resolve());
          return;
        }
        setTimeout(tick, Math.max(0, next.atMs - (performance.now() - start)));
      };
      tick();
    });
  }

  get requestsSent(): number {
    return this.sent;
  }

  /** Until every planned arrival is sent or the run is stopped. */
  get sending(): boolean {
    return !this.stopped && this.sent < this.planned;
  }

  /** Stops sending new requests; those in flight still finish (within their deadline). */
  stop(): void {
    this.stopped = true;
  }
}
