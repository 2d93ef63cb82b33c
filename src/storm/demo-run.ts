import { resolveConfig } from '../config/load.ts';
import { startGateway, type Gateway } from '../lifecycle/start-gateway.ts';
import { startFleet, type Fleet, type FleetSpec } from '../mock/fleet.ts';
import type { MockStats } from '../mock/stats.ts';
import { createLogger } from '../observe/log.ts';
import { planArrivals, type Arrival } from './arrivals.ts';
import type { StormTarget } from './client.ts';
import {
  DEMO_MIX,
  demoBurst,
  demoCurve,
  demoFleet,
  demoGatewayConfig,
  demoOutage,
  fleetCapacityRps,
} from './demo-fleet.ts';
import { plainLines, redraw, ttyFrame, type SideProgress } from './live-view.ts';
import { LoadRun } from './load-run.ts';
import { bestPossibleSummary } from './best-possible.ts';
import { summarize, type RequestRecord, type Summary } from './summary.ts';
import { summaryTable } from './table.ts';

export interface DemoOptions {
  durationS: number;
  seed: number;
  /** Load as a multiple of the fleet's capacity (doubled during the burst). */
  rateX: number;
  /** Gateway port (0: any free one). */
  port: number;
  /** The client's deadline per request, in seconds; also bounds the wait for in-flight answers at the end. */
  deadlineS: number;
  /** Gateway log level (its lines go to stderr). */
  logLevel: string;
  /** Where the view and the summary go; redrawn in place when it is a TTY. */
  out: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Aborting stops sending; answers in flight still finish (within the deadline), then the summary is printed. */
  signal?: AbortSignal;
  /** Called once the gateway listens (the CLI prints nothing else before the view). */
  onGateway?: (gw: Gateway) => void;
}

export interface DemoResult {
  summaries: Summary[];
  table: string;
  /** Every request's record, by side ('direct', 'spillway'), for analyses of the run (bench/demo-ceiling.ts). */
  records: Record<string, readonly RequestRecord[]>;
}

/** Plain output prints the sides every this many seconds (and once when sending stops), to keep logs short. */
const PLAIN_EVERY_S = 5;

/**
 * The offline demo: two identical simulated fleets; the same seeded open-loop traffic is sent at the same time
 * straight to one (as a client without a gateway would) and through Spillway to the other. One process holds it
 * all, so both sides share the same CPU and event loop — neither gets an unfair machine.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const spec = demoFleet(o.seed, o.durationS);
  const meanTokens = (DEMO_MIX.maxTokens[0] + DEMO_MIX.maxTokens[1]) / 2;
  const capacity = fleetCapacityRps(spec, meanTokens);
  const fleets: Fleet[] = [];
  let gw: Gateway | undefined;
  try {
    const direct = await startFleet(spec);
    fleets.push(direct);
    const behind = await startFleet(spec);
    fleets.push(behind);
    const config = resolveConfig(demoGatewayConfig(spec, urlsOf(behind)), '(spillway demo)', process.env);
    // As `spillway start` does: each upstream's kind (how it continues a cut stream) is asked of its /v1/models.
    gw = await startGateway(config, { port: o.port, log: createLogger(o.logLevel, process.stderr), probeKinds: true });
    await gw.kindsSettled();
    o.onGateway?.(gw);
    const gwUrl = gw.url;
    o.out.write(header(spec, capacity, o, gwUrl));

    const mix = { ...DEMO_MIX, deadlineS: o.deadlineS };
    const arrivals = planArrivals({
      seed: o.seed,
      curve: demoCurve(capacity, o.rateX, o.durationS),
      durationS: o.durationS,
      mix,
    });
    const directTargets: StormTarget[] = direct.upstreams.map((u) => ({ baseUrl: `${u.url}/v1` }));
    const pickDirect = (a: Arrival) =>
      directTargets[Math.min(directTargets.length - 1, Math.floor(a.pick * directTargets.length))] as StormTarget;
    const runOpts = { deadlineS: o.deadlineS, answerSeed: o.seed };
    const runs = [
      { label: 'direct', run: new LoadRun(arrivals, pickDirect, runOpts), fleet: direct },
      { label: 'spillway', run: new LoadRun(arrivals, () => ({ baseUrl: `${gwUrl}/v1` }), runOpts), fleet: behind },
    ];
    const started = performance.now();
    // Sending ends when both sides have sent every planned arrival, not on a timer: a stalled event loop (a busy
    // machine) delays one side's sends, and a timer would cut that side's last arrivals — unequal traffic.
    const stopSending = () => {
      for (const r of runs) r.run.stop();
    };
    o.signal?.addEventListener('abort', stopSending, { once: true });
    if (o.signal?.aborted === true) stopSending();

    const progress = (): SideProgress[] =>
      runs.map((r) => ({
        sent: r.run.requestsSent,
        upstreamRequests: sum(r.fleet.stats(), (s) => s.received),
        summary: summarize(r.label, r.run.records, 0, 0),
      }));
    let frameLines = 0;
    let lastPlain = 0;
    let lastAnswered = -1;
    let announcedStop = false;
    const draw = (final: boolean) => {
      const sending = !final && runs.some((r) => r.run.sending);
      const elapsed = (performance.now() - started) / 1000;
      const sides = progress();
      if (o.out.isTTY === true) {
        const frame = ttyFrame(status(elapsed, o, capacity, sending, final), sides, o.out.columns ?? 120);
        o.out.write(redraw(frameLines, frame));
        frameLines = frame.length;
        return;
      }
      const stoppedNow = !sending && !announcedStop;
      const answered = sides.reduce((n, p) => n + p.summary.requests, 0);
      // While only waiting for the last answers, a line that says nothing new is left out.
      const due = elapsed - lastPlain >= PLAIN_EVERY_S - 0.5 && (sending || answered !== lastAnswered);
      if (final || stoppedNow || due) {
        if (stoppedNow) announcedStop = true;
        lastPlain = elapsed;
        lastAnswered = answered;
        if (stoppedNow && !final)
          o.out.write(`sending stopped; waiting up to ${o.deadlineS} s for the answers in flight\n`);
        o.out.write(`${plainLines(elapsed, sides).join('\n')}\n`);
      }
    };
    const ticker = setInterval(() => draw(false), 1000);
    try {
      await Promise.all(runs.map((r) => r.run.done));
    } finally {
      clearInterval(ticker);
      o.signal?.removeEventListener('abort', stopSending);
    }
    draw(true);

    const summaries = runs.map((r) => {
      const stats = Object.values(r.fleet.stats());
      return summarize(
        r.label,
        r.run.records,
        sum(stats, (s) => s.received),
        sum(stats, (s) => s.completedAfterClientGone),
      );
    });
    // What any scheduler could have finished on this fleet, from the same recorded arrivals (docs/storm.md).
    const best = bestPossibleSummary(runs[0]?.run.records ?? [], spec, o.deadlineS);
    const records = Object.fromEntries(runs.map((r) => [r.label, r.run.records]));
    return { summaries, table: summaryTable('demo', [...summaries, best]), records };
  } finally {
    await gw?.shutdown(1000);
    await Promise.all(fleets.map((f) => f.close()));
  }
}

function urlsOf(fleet: Fleet): Record<string, string> {
  return Object.fromEntries(fleet.upstreams.map((u) => [u.name, u.url]));
}

function sum(stats: Record<string, MockStats> | MockStats[], pick: (s: MockStats) => number): number {
  return Object.values(stats).reduce((n, s) => n + pick(s), 0);
}

function header(spec: FleetSpec, capacity: number, o: DemoOptions, gwUrl: string): string {
  const outage = demoOutage(o.durationS);
  const burst = demoBurst(o.durationS);
  const rate = capacity * o.rateX;
  const ups = spec.upstreams.map((u) => {
    const full = u.queueSize ? `queue ${u.queueSize}, then ${u.reject ?? 503}` : `${u.reject ?? 503} at once`;
    const down = u.outages?.length ? `, down ${s(outage.startMs / 1000)}–${s(outage.endMs / 1000)} s` : '';
    return `${u.name} (${u.slots ?? '∞'} slots, ${full}${down})`;
  });
  return [
    'spillway demo: two identical simulated fleets; the same seeded traffic goes to both at the same time.',
    `  fleet     ${ups.join(', ')}; seeded 500s, resets (some mid-stream), stalls; capacity ≈ ${capacity.toFixed(1)} req/s each`,
    `  traffic   ${o.rateX}× capacity ≈ ${rate.toFixed(0)} req/s for ${o.durationS} s, burst to ${(2 * rate).toFixed(0)} req/s at ` +
      `${s(burst.startS)}–${s(burst.endS)} s; ${DEMO_MIX.stream * 100}% streams, ${DEMO_MIX.maxTokens.join('–')} tokens, deadline ${o.deadlineS} s`,
    "  direct    a client without a gateway: spreads over fleet 1's upstreams, no retries",
    `  spillway  ${gwUrl}/v1 in front of fleet 2 (default config: deadline-first queue, retries, failover, continuation: auto)`,
    `  metrics   ${gwUrl}/metrics`,
    `  dashboard ${gwUrl}/dashboard   (watch the storm live)`,
    '',
    '',
  ].join('\n');
}

const s = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

function status(elapsedS: number, o: DemoOptions, capacity: number, sending: boolean, final: boolean): string {
  const t = `${Math.round(elapsedS)} s`;
  if (final) return `done after ${t}`;
  if (!sending) return `${t}: sending stopped; waiting up to ${o.deadlineS} s for the answers in flight`;
  const burst = demoBurst(o.durationS);
  const inBurst = elapsedS >= burst.startS && elapsedS < burst.endS;
  const rate = capacity * o.rateX * (inBurst ? 2 : 1);
  return `${t} / ${o.durationS} s: sending ${rate.toFixed(0)} req/s${inBurst ? ' (burst)' : ''} to each side · Ctrl-C stops`;
}
