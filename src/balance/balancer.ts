import type { Clock } from '../clock.ts';
import type { AccountConfig, Config, ModelConfig, RouteConfig, UpstreamConfig } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import type { InFlightRow, Metrics } from '../observe/metrics.ts';
import { isHealthEvidence, isUpstreamFailure, type Outcome } from '../upstream/outcome.ts';
import { PassiveHealth, type HealthState } from './passive-health.ts';
import { PeakEwma } from './peak-ewma.ts';
import { AimdLimit, type Signal } from './aimd-limit.ts';
import { engineQueues, ourRunsOn, type EngineLoad } from './engine-load.ts';
import { SilentQueue } from './silent-queue.ts';
import { SilentWhole } from './silent-whole.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import { labelCache } from '../observe/label-cache.ts';
import { pickRoute, type RouteLoad } from './pick-route.ts';
import { Lease, type LeaseEnd } from './lease.ts';

// The balancer grants leases; their lifecycle (listeners, release exactly once) is lease.ts's.
export type { Lease } from './lease.ts';

/** A busy answer's Retry-After up to this is a routine hint (most servers put one on every refusal), not a rest. */
const ROUTINE_RETRY_AFTER_MS = 2_000;
/** How long a key refused with 401/403, or out of balance (402), stays out before one request tries it again. */
const DISABLED_MS = 5 * 60_000;
const NO_GAUGE = { set(): void {} };
/** Weight of the past in the service-time average (about the last ten answers count). */
const SERVICE_EWMA = 0.9;
/** KV-cache use at which an engine counts as nearly full. */
const KV_FULL = 0.95;
/** Decay of the latency estimate: slow answers count at once, fast ones over about this long. */
const EWMA_TAU_MS = 10_000;
/**
 * How long an attempt we cut (a timeout of ours, a client gone, a hedge's loser) may still count at the upstream:
 * it frees its slot only when it notices the closed connection. A busy answer that soon after is explained by our
 * own cut, not by a lower cap: the learned limit steps below what was in flight without holding there
 * (`AimdLimit.stepDown`). Taken as a plain pushback, it held a known cap one below for `PROBE_HOLD_MS` (`spillway
 * demo`: a stall cut on `b`, then a 429 from `b` at 6 of 6, and `b` served at 5 for 10 s). Busy answers after it
 * are pushback as ever: an upstream that generates on after a cut (zombie work) really has fewer free slots.
 */
const CUT_NOTICE_MS = 1_000;
/** The kinds that queue what they cannot run without a word, first come first served (silent-queue.ts). */
const SILENT_QUEUE_KINDS: ReadonlySet<UpstreamKind> = new Set(['vllm', 'sglang', 'ollama']);

/**
 * Requests in flight on one upstream or account. A separate object so a config reload can hand the same counter to
 * the new balancer: leases granted by the old one still count, and still free their slot, until they end.
 */
interface Slots {
  inFlight: number;
}

interface Account {
  config: AccountConfig;
  slots: Slots;
  /** The account's learned concurrency (429 pushback lowers it); undefined when adaptive concurrency is off. */
  limit: AimdLimit | undefined;
  /** A 429 rests the account until then (clock ms): rate limited is busy, not broken. */
  restingUntil: number;
  /** A refused key is out until then. */
  disabledUntil: number;
  /** When we last cut an attempt on this account (see CUT_NOTICE_MS). */
  cutAt: number;
}

interface UpstreamState {
  config: UpstreamConfig;
  accounts: Account[];
  slots: Slots;
  /** An operator took it out of rotation (admin API): no new attempts, in-flight ones finish. */
  drained: boolean;
  latency: PeakEwma;
  /** The learned concurrency limit (the configured cap when adaptive concurrency is off). */
  limit: AimdLimit | undefined;
  /** What a self-hosted engine last reported about its own load (engine_metrics), when scraped. */
  engine: EngineLoad | undefined;
  /** What such an engine runs of ours as its streams' first tokens tell, while its metrics are not read... */
  silent: SilentQueue;
  /** ...and as its whole answers' times against their lengths tell. */
  silentWhole: SilentWhole;
  /** Metric children resolved once (prom-client hashes labels on every call otherwise). */
  gauges: { limit: { set(v: number): void }; healthy: { set(v: number): void }; drained: { set(v: number): void } };
  attempts: (outcome: string) => { inc(): void };
  healthy: number;
  shownLimit: number;
  /** Mean time a successful attempt held its slot (ms, EWMA; 0 before one): the capacity estimate's service time. */
  serviceMs: number;
  /** When we last cut an attempt on this upstream (see CUT_NOTICE_MS). */
  cutAt: number;
  /** When an attempt was last sent here (clock ms): an engine is scraped only while it is in use. */
  leasedAt: number;
}

/** When a lease was granted, and with how many in flight on its upstream (itself included). */
interface Leased {
  at: number;
  sentWith: number;
}

/** One upstream as the admin API and the dashboard show it. */
export interface UpstreamSnapshot {
  name: string;
  /** Passive health (breaker) state; `drained` is separate: an operator's choice, not a verdict on health. */
  health: HealthState;
  drained: boolean;
  inFlight: number;
  /** What it may have in flight now: the learned limit, never above maxConcurrency. */
  cap: number;
  maxConcurrency: number;
  weight: number;
  /** Peak-EWMA time to first token (ms); 0 before any answer. */
  latencyMs: number;
  /** Mean time a successful attempt holds a slot (ms); 0 before any. */
  serviceMs: number;
  /** What a self-hosted engine last reported about its own load, when engine_metrics is set. */
  engine: EngineLoad | undefined;
  /** `cap`: what the account may have in flight now (its learned limit, never above maxConcurrency). */
  accounts: {
    name: string;
    inFlight: number;
    cap: number;
    maxConcurrency: number;
    restingMs: number;
    disabledMs: number;
    /** @deprecated The admin API's first name for restingMs, kept for its clients (CHANGELOG). */
    coolingMs: number;
  }[];
}

/**
 * The glue around the pure policies: counts requests in flight per upstream and per account (so no
 * max_concurrency is ever exceeded), rests accounts after a 429, disables refused keys, feeds outcomes to passive
 * health and latencies to peak-EWMA, and asks pickRoute for a choice.
 */
export class Balancer {
  private readonly upstreams = new Map<string, UpstreamState>();
  private readonly health: PassiveHealth;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly cooldownDefaultMs: number;
  private readonly adaptive: Config['adaptiveConcurrency'];
  /** What software each upstream runs (set, or probed); undefined: none queues silently as far as we know. */
  private readonly kindOf: ((u: UpstreamConfig) => UpstreamKind) | undefined;
  /** Called after every release: a slot may have freed for someone waiting (the admission queue). */
  onRelease: (() => void) | undefined;

  /**
   * `previous` is the balancer a config reload replaces: upstreams and accounts that keep their name keep their
   * in-flight counters (so no cap is exceeded while old and new requests overlap), their rests, their drain, their
   * latency estimate and their breaker state. Learned limits restart when max_concurrency or adaptive concurrency
   * changed.
   */
  constructor(
    config: Config,
    deps: {
      clock: Clock;
      metrics: Metrics;
      log: Logger;
      random?: () => number;
      kindOf?: (u: UpstreamConfig) => UpstreamKind;
    },
    previous?: Balancer,
  ) {
    this.clock = deps.clock;
    this.kindOf = deps.kindOf;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.random = deps.random ?? Math.random;
    this.cooldownDefaultMs = config.retry.cooldownDefaultMs;
    const now = this.clock.now();
    const sameLimits =
      previous !== undefined && JSON.stringify(previous.adaptive) === JSON.stringify(config.adaptiveConcurrency);
    this.adaptive = config.adaptiveConcurrency;
    for (const u of config.upstreams) {
      const state = this.upstreamState(u, previous?.upstreams.get(u.name), sameLimits, now);
      this.upstreams.set(u.name, state);
      state.gauges.limit.set(state.shownLimit);
      this.metrics.upstreamMaxConcurrency.set({ upstream: u.name }, u.maxConcurrency);
      state.gauges.healthy.set(state.healthy);
      state.gauges.drained.set(state.drained ? 1 : 0);
    }
    this.forgetGone(previous);
    this.health = new PassiveHealth([...this.upstreams.keys()], config.health, now, previous?.health);
  }

  /**
   * An upstream's state under this config: what `old` (the same upstream before a reload) had is kept — in-flight
   * counters, rests, drain, latency, health — and its learned limits too while their settings did not change.
   */
  private upstreamState(
    u: UpstreamConfig,
    old: UpstreamState | undefined,
    sameLimits: boolean,
    now: number,
  ): UpstreamState {
    const a = this.adaptive;
    const accounts = u.accounts.map((ac): Account => {
      const was = old?.accounts.find((o) => o.config.name === ac.name);
      const sameKey = was?.config.apiKey === ac.apiKey;
      const keep = sameLimits && sameKey && was?.config.maxConcurrency === ac.maxConcurrency;
      return {
        config: ac,
        slots: was?.slots ?? { inFlight: 0 },
        limit: keep ? was?.limit : limitFor(a, ac.maxConcurrency),
        restingUntil: sameKey ? (was?.restingUntil ?? 0) : 0,
        disabledUntil: sameKey ? (was?.disabledUntil ?? 0) : 0,
        cutAt: was?.cutAt ?? -Infinity,
      };
    });
    const keepLimit = sameLimits && old?.config.maxConcurrency === u.maxConcurrency;
    const limit = keepLimit ? old?.limit : limitFor(a, u.maxConcurrency);
    const m = this.metrics;
    return {
      config: u,
      accounts,
      slots: old?.slots ?? { inFlight: 0 },
      drained: old?.drained ?? false,
      latency: old?.latency ?? new PeakEwma(EWMA_TAU_MS, now),
      limit,
      engine: undefined,
      silent: old?.silent ?? new SilentQueue(),
      silentWhole: old?.silentWhole ?? new SilentWhole(),
      gauges: {
        limit: m.upstreamLimit.labels({ upstream: u.name }),
        healthy: m.upstreamHealthy.labels({ upstream: u.name }),
        drained: m.upstreamDrained.labels({ upstream: u.name }),
      },
      attempts: labelCache((outcome) => m.upstreamAttempts.labels({ upstream: u.name, outcome })),
      healthy: old?.healthy ?? 1,
      shownLimit: limit?.limit ?? u.maxConcurrency,
      serviceMs: old?.serviceMs ?? 0,
      cutAt: old?.cutAt ?? -Infinity,
      leasedAt: old?.leasedAt ?? -Infinity,
    };
  }

  /**
   * Upstreams gone from the config: their series would otherwise show a stale value forever, and the old
   * balancer's last releases must not bring them back.
   */
  private forgetGone(previous: Balancer | undefined): void {
    const m = this.metrics;
    for (const [name, gone] of previous?.upstreams ?? []) {
      if (this.upstreams.has(name)) continue;
      gone.gauges = { limit: NO_GAUGE, healthy: NO_GAUGE, drained: NO_GAUGE };
      for (const g of [m.upstreamLimit, m.upstreamMaxConcurrency, m.upstreamHealthy, m.upstreamDrained]) {
        g.remove({ upstream: name });
      }
    }
  }

  /** Takes an upstream out of rotation (true) or puts it back (false); false when no upstream has that name. */
  setDrained(name: string, drained: boolean): boolean {
    const u = this.upstreams.get(name);
    if (u === undefined) return false;
    u.drained = drained;
    u.gauges.drained.set(drained ? 1 : 0);
    this.log.info(
      { upstream: name, drained },
      drained ? 'upstream drained by an operator: no new attempts' : 'upstream back in rotation',
    );
    // Undraining frees capacity for requests waiting in line.
    if (!drained) this.onRelease?.();
    return true;
  }

  /** Requests in flight per upstream and account, for the in-flight gauges (read at scrape time). */
  inFlightRows(): InFlightRow[] {
    return [...this.upstreams.values()].map((u) => ({
      upstream: u.config.name,
      inFlight: u.slots.inFlight,
      accounts: u.accounts.map((a) => ({ name: a.config.name, inFlight: a.slots.inFlight })),
    }));
  }

  /** Every upstream's state now, in config order. */
  snapshot(): UpstreamSnapshot[] {
    const now = this.clock.now();
    return [...this.upstreams.values()].map((u) => ({
      name: u.config.name,
      health: this.health.state(u.config.name, now),
      drained: u.drained,
      inFlight: u.slots.inFlight,
      cap: capOf(u),
      maxConcurrency: u.config.maxConcurrency,
      weight: u.config.weight,
      latencyMs: u.latency.get(),
      serviceMs: u.serviceMs,
      engine: u.engine,
      accounts: u.accounts.map((a) => ({
        name: a.config.name,
        inFlight: a.slots.inFlight,
        cap: accountCap(a),
        maxConcurrency: a.config.maxConcurrency,
        restingMs: Math.max(0, a.restingUntil - now),
        disabledMs: Math.max(0, a.disabledUntil - now),
        coolingMs: Math.max(0, a.restingUntil - now),
      })),
    }));
  }

  /**
   * A lease on the best route of the model, or a no_capacity error to answer at once (never a wait). Upstreams in
   * `avoid` (those that just failed this request) are passed over while any other route can serve. `withinMs`: the
   * time the request has left; routes whose mean service time is longer are passed over while one that is shorter
   * exists — free or not: when only slower ones are free, no_capacity with detail `too_slow` (see `fitting`).
   */
  acquire(model: ModelConfig, avoid?: ReadonlySet<string>, withinMs = Infinity): Lease {
    const now = this.clock.now();
    const states = model.routes.map((r) => this.state(r.upstream));
    const loads: RouteLoad[] = states.map((u, j) => ({
      weight: u.config.weight * (model.routes[j]?.weight ?? 1),
      inFlight: u.slots.inFlight,
      latencyMs: u.latency.get(),
      engineQueued: u.engine?.waiting ?? 0,
      kvFull: (u.engine?.kvUsage ?? 0) >= KV_FULL,
      available:
        !u.drained &&
        u.slots.inFlight < capOf(u) &&
        this.health.available(u.config.name, now) &&
        freeAccount(u, now) !== undefined,
    }));
    const fits = fitting(states, loads, withinMs);
    let i = -1;
    if (avoid !== undefined && avoid.size > 0) {
      i = pickRoute(
        fits.map((l, j) => (avoid.has(model.routes[j]?.upstream ?? '') ? { ...l, available: false } : l)),
        this.random,
      );
    }
    if (i < 0) i = pickRoute(fits, this.random);
    if (i < 0 && fits !== loads && loads.some((l) => l.available))
      throw new SpillwayError('no_capacity', `Only upstreams too slow for this request's time left are free.`, {
        retryAfterS: 1,
        detail: 'too_slow',
      });
    const route = model.routes[i];
    const state = states[i];
    const account = state === undefined ? undefined : freeAccount(state, now);
    if (route === undefined || state === undefined || account === undefined) throw this.noCapacity(model, states, now);
    return this.lease(route, state, account, now);
  }

  private lease(route: RouteConfig, u: UpstreamState, account: Account, now: number): Lease {
    this.health.onSend(u.config.name, now);
    this.adjust(u, account, +1);
    u.leasedAt = now;
    const sentWith = u.slots.inFlight;
    return new Lease(
      { route, upstream: u.config, account: account.config.name, apiKey: account.config.apiKey },
      {
        rest: (ms) => {
          account.restingUntil = Math.max(account.restingUntil, this.clock.now() + ms);
        },
        settle: (end) => this.settle(u, account, { at: now, sentWith }, end),
        misuse: (lease, what) => {
          // A bug in a caller, not in the request: logged with where it happened, and nothing is freed twice.
          const at = new Error(what).stack;
          this.log.error({ upstream: lease.upstream.name, account: lease.account, at }, `a lease was ${what}: ignored`);
        },
      },
    );
  }

  /** A lease ended (its listeners have run): the slot is free, what the attempt showed is learned, waiters woken. */
  private settle(u: UpstreamState, account: Account, leased: Leased, end: LeaseEnd): void {
    const { outcome, unused } = end;
    this.adjust(u, account, -1);
    if (!unused) u.attempts(outcome.kind).inc();
    if (!unused && cutByUs(outcome)) account.cutAt = u.cutAt = this.clock.now();
    // The client left: says nothing about the upstream's health, but frees a half-open probe slot.
    if (outcome.kind === 'cancelled') this.health.cancelProbe(u.config.name);
    else this.learn(u, account, leased, end);
    this.onRelease?.();
  }

  /** What an attempt's outcome teaches: latency and service time, learned limits, rests, disabled keys, health. */
  private learn(u: UpstreamState, account: Account, leased: Leased, end: LeaseEnd): void {
    const { outcome, firstTokenMs } = end;
    const t = this.clock.now();
    const leasedAt = leased.at;
    if (outcome.kind === 'ok') {
      if (firstTokenMs !== undefined) u.latency.observe(firstTokenMs, t);
      u.serviceMs = u.serviceMs === 0 ? t - leasedAt : SERVICE_EWMA * u.serviceMs + (1 - SERVICE_EWMA) * (t - leasedAt);
    }
    this.learnLimits(u, account, outcome, t);
    this.learnSilentQueue(u, leased, end, t);
    this.restIfBusy(u, account, outcome, t);
    if (outcome.kind === 'auth_failed' || outcome.kind === 'insufficient_balance')
      this.disable(u.config.name, account, outcome, t);
    this.learnHealth(u, outcome, t, t - leasedAt);
  }

  /** Feeds the account's and the upstream's learned concurrency limits (aimd-limit.ts). */
  private learnLimits(u: UpstreamState, account: Account, outcome: Outcome, t: number): void {
    // Counted before this lease's slot was given back: the pushback rule wants the load the upstream refused.
    const atUpstream = u.slots.inFlight + 1;
    const atAccount = account.slots.inFlight + 1;
    if (outcome.kind === 'rate_limited' && account.limit !== undefined) {
      // A 429 is about the account (DeepSeek: its concurrency limit, which depends on its balance): learn its cap,
      // at once when the body said it; one that follows our own cut closely says nothing of it (CUT_NOTICE_MS).
      if (outcome.limit !== undefined) this.learnStated(u.config.name, account, outcome.limit, t, atAccount);
      else if (t - account.cutAt < CUT_NOTICE_MS) account.limit.stepDown(t, atAccount);
      else account.limit.record('pushback', t, atAccount);
    } else if (account.limit !== undefined && outcome.kind === 'ok') {
      account.limit.record('success', t);
    }
    if (u.limit !== undefined) {
      const signal = signalOf(outcome);
      if (signal === 'pushback' && t - u.cutAt < CUT_NOTICE_MS) u.limit.stepDown(t, atUpstream);
      else u.limit.record(signal, t, atUpstream);
      if (u.limit.limit !== u.shownLimit) u.gauges.limit.set((u.shownLimit = u.limit.limit));
    }
  }

  /**
   * A self-hosted engine whose metrics are not read (off, or unreadable): an answer that waited in its queue tells
   * what it runs of ours — a stream by its first token (silent-queue.ts), a whole answer by its time against its
   * length (silent-whole.ts) — and the limit is set to that as on a queue the engine reports (`setEngineLoad`). A
   * stream held with keep-alives is pushback already.
   */
  private learnSilentQueue(u: UpstreamState, leased: Leased, end: LeaseEnd, t: number): void {
    const o = end.outcome;
    if (u.limit === undefined || u.engine !== undefined || o.kind !== 'ok' || o.queuedUpstream === true) return;
    if (this.kindOf === undefined || !SILENT_QUEUE_KINDS.has(this.kindOf(u.config))) return;
    const heldMs = t - leased.at;
    const { sentWith } = leased;
    let runs: number | undefined;
    if (end.streamed === true && end.firstTokenMs !== undefined)
      runs = u.silent.observe({ sentWith, firstTokenMs: end.firstTokenMs, heldMs, promptTokens: end.promptTokens });
    else if (end.streamed !== true && end.answerTokens !== undefined && end.answerTokens > 0)
      runs = u.silentWhole.observe({ sentWith, heldMs, tokens: end.answerTokens, promptTokens: end.promptTokens });
    if (runs === undefined) return;
    u.limit.estimated(t, runs);
    if (u.limit.limit !== u.shownLimit) u.gauges.limit.set((u.shownLimit = u.limit.limit));
  }

  /**
   * A Retry-After longer than a routine hint is the upstream telling us to leave that account alone: it rests
   * (never a sleep of the one request). Otherwise busy rests the whole account only when nothing else can slow us
   * down: its learned limit, held below the refused level, keeps the next requests from meeting another refusal,
   * and the refused request goes to another upstream. Resting a whole account on every busy answer would leave its
   * other slots idle, and an upstream that answers a tenth of its requests "busy" with a one-second Retry-After at
   * random would rest most of the time. An upstream that refuses even one request at a time (its limit at the
   * floor) rests too: Retry-After long, else cooldown_default. Without learned limits, every Retry-After rests the
   * account, as before.
   */
  private restIfBusy(u: UpstreamState, account: Account, outcome: Outcome, t: number): void {
    if (outcome.kind !== 'rate_limited' && outcome.kind !== 'overloaded') return;
    const restMs = busyRestMs(
      outcome.retryAfterMs,
      outcome.kind === 'rate_limited' ? account.limit : u.limit,
      this.cooldownDefaultMs,
    );
    if (restMs <= 0) return;
    account.restingUntil = t + restMs;
    this.metrics.accountCooldowns.inc({ upstream: u.config.name, account: account.config.name });
  }

  /** Passive health: repeated failures take the upstream out of rotation (passive-health.ts). */
  private learnHealth(u: UpstreamState, outcome: Outcome, t: number, costMs: number): void {
    const name = u.config.name;
    if (!isHealthEvidence(outcome)) {
      this.health.cancelProbe(name);
      return;
    }
    const ejected = this.health.record(name, isUpstreamFailure(outcome), t, costMs);
    if (ejected) {
      this.metrics.upstreamEjections.inc({ upstream: name });
      this.log.warn(
        { upstream: name, outcome: outcome.kind },
        'upstream taken out of rotation after repeated failures',
      );
    }
    const healthy = this.health.state(name, t) === 'ejected' ? 0 : 1;
    if (healthy !== u.healthy) u.gauges.healthy.set((u.healthy = healthy));
  }

  /**
   * A key the upstream refused (401/403) or that has no balance left (402) is out for DISABLED_MS, then one request
   * tries it again (a fixed key or a top-up brings it back without a restart). Other keys carry the traffic meanwhile.
   */
  private disable(
    upstream: string,
    account: Account,
    outcome: Extract<Outcome, { kind: 'auth_failed' | 'insufficient_balance' }>,
    now: number,
  ): void {
    account.disabledUntil = now + DISABLED_MS;
    const balance = outcome.kind === 'insufficient_balance';
    this.metrics.accountDisabled.inc({
      upstream,
      account: account.config.name,
      reason: balance ? 'insufficient_balance' : 'auth_failed',
    });
    this.log.error(
      { upstream, account: account.config.name, status: outcome.status },
      balance
        ? 'upstream account has insufficient balance: key disabled for 5 minutes; top up the account'
        : 'upstream refused this API key: key disabled for 5 minutes; fix the key in the config',
    );
  }

  /** The account's limit, as its upstream's 429 body stated it, in force at once (aimd-limit.ts `stated`). */
  private learnStated(upstream: string, account: Account, limit: number, now: number, inFlight: number): void {
    const before = account.limit?.limit;
    account.limit?.stated(limit, now, inFlight);
    const after = account.limit?.limit;
    if (after !== before)
      this.log.info(
        { upstream, account: account.config.name, stated: limit, limit: after },
        "upstream stated this account's concurrency limit in a 429: using it as the cap",
      );
  }

  private noCapacity(model: ModelConfig, states: readonly UpstreamState[], now: number): SpillwayError {
    const names = states.map((s) => s.config.name);
    const restMs = Math.min(
      ...states.map((s) =>
        Math.min(...s.accounts.map((a) => Math.max(0, a.restingUntil - now, a.disabledUntil - now))),
      ),
    );
    const waitMs = Math.max(this.health.retryInMs(names, now), Number.isFinite(restMs) ? restMs : 0);
    // Busy: the upstream, or every one of its accounts, is at its concurrency cap.
    // A drained upstream is out until an operator puts it back: like a down one, nothing to wait for.
    const inRotation = (s: UpstreamState) => !s.drained && this.health.available(s.config.name, now);
    const atCap = states.some(
      (s) =>
        inRotation(s) && (s.slots.inFlight >= capOf(s) || s.accounts.every((a) => a.slots.inFlight >= accountCap(a))),
    );
    const resting = states.some((s) => inRotation(s) && s.accounts.some((a) => now < a.restingUntil));
    // Taken out by passive health (not drained): it is probed again after its time out, so an admitted request
    // (a retry, a continuation) may wait for that within its deadline; a newcomer is still refused at once.
    const ejected = states.some((s) => !s.drained && !this.health.available(s.config.name, now));
    return new SpillwayError(
      'no_capacity',
      atCap
        ? `Every upstream of model '${model.name}' is at its concurrency limit; try again later.`
        : `No upstream of model '${model.name}' can take a request now (failing, or resting after a rate limit); try again later.`,
      // busy: slots will free as answers finish; resting: accounts wake up at Retry-After; ejected: probed again in
      // `waitMs`; down: nothing to wait for.
      {
        retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)),
        detail: atCap ? 'busy' : resting ? 'resting' : ejected ? 'ejected' : 'down',
      },
    );
  }

  /**
   * Upstreams taking no new requests now: drained by an operator, or out of rotation by passive health (ejected, or
   * half-open until a probe succeeds). The wait queue leaves their part out of its drain rate.
   */
  outOfRotation(now: number): Set<string> {
    const out = new Set<string>();
    for (const u of this.upstreams.values())
      if (u.drained || this.health.state(u.config.name, now) !== 'healthy') out.add(u.config.name);
    return out;
  }

  /** Requests in flight and the room for them, summed over every upstream (async jobs use only the spare part). */
  load(): { inFlight: number; capacity: number } {
    let inFlight = 0;
    let capacity = 0;
    for (const u of this.upstreams.values()) {
      inFlight += u.slots.inFlight;
      // A drained upstream finishes what it has but takes nothing new: it is no room for jobs.
      if (!u.drained) capacity += capOf(u);
    }
    return { inFlight, capacity };
  }

  /**
   * A self-hosted engine's reported load (undefined when its /metrics could not be read). An engine with requests
   * waiting in its own queue runs no more than what it runs: the waiting ones are ours beyond it (or others' — then
   * ours would only wait behind them). The upstream's limit falls to what it runs of ours (engine-load.ts
   * `ourRunsOn`; aimd-limit.ts `queued`), so the requests beyond it wait in Spillway's queue, in deadline order,
   * where the door refuses at once what cannot finish — not in the engine's, first come first served, until the
   * client's deadline. A queue of one read once is no queue (`engineQueues`).
   */
  setEngineLoad(name: string, load: EngineLoad | undefined): void {
    const u = this.upstreams.get(name);
    if (u === undefined) return;
    const previous = u.engine;
    u.engine = load;
    if (load === undefined || u.limit === undefined || !engineQueues(load, previous)) return;
    u.limit.queued(this.clock.now(), ourRunsOn(load, u.slots.inFlight));
    if (u.limit.limit !== u.shownLimit) u.gauges.limit.set((u.shownLimit = u.limit.limit));
  }

  /** Whether the upstream had an attempt in flight at any time since `since` (clock ms). */
  inUseSince(name: string, since: number): boolean {
    const u = this.upstreams.get(name);
    return u !== undefined && (u.slots.inFlight > 0 || u.leasedAt >= since);
  }

  /**
   * Attempts in flight beyond their upstream's limit now, over the upstreams in rotation: a learned limit that came
   * down under what had been sent (an engine's own queue, a pushback). Each must finish before a slot frees there for
   * a waiting request (deadline-plan.ts `Pace.overLimit`).
   */
  overLimit(now: number): number {
    let over = 0;
    for (const u of this.upstreams.values()) {
      if (u.drained || this.health.state(u.config.name, now) !== 'healthy') continue;
      over += Math.max(0, u.slots.inFlight - capOf(u));
    }
    return over;
  }

  private adjust(u: UpstreamState, a: Account, delta: number): void {
    u.slots.inFlight += delta;
    a.slots.inFlight += delta;
  }

  private state(name: string): UpstreamState {
    const u = this.upstreams.get(name);
    if (u === undefined) throw new Error(`route names unknown upstream ${name}`);
    return u;
  }
}

/** How long a busy answer rests its account (0: not at all); the reasons are at `restIfBusy`. */
function busyRestMs(retryAfterMs: number | undefined, limit: AimdLimit | undefined, cooldownDefaultMs: number): number {
  if (limit === undefined || limit.atMinimum) return retryAfterMs ?? cooldownDefaultMs;
  return retryAfterMs !== undefined && retryAfterMs > ROUTINE_RETRY_AFTER_MS ? retryAfterMs : 0;
}

/** Requests the upstream may have in flight now: the learned limit, never above max_concurrency. */
function capOf(u: UpstreamState): number {
  return Math.min(u.config.maxConcurrency, u.limit?.limit ?? Infinity);
}

/**
 * What an outcome says about the upstream's load: overload lowers the learned limit, success raises it. A 429 is
 * about one account (it rests that key), not the server, so it leaves the upstream's limit alone.
 */
function signalOf(o: Outcome): Signal {
  if (o.kind === 'ok') return o.queuedUpstream === true ? 'pushback' : 'success';
  if (o.kind === 'overloaded') return 'pushback';
  if (o.kind === 'timeout' && (o.phase === 'first_token' || o.phase === 'connect')) return 'overload';
  return 'neutral';
}

/** An attempt we ended ourselves, which the upstream had begun (a connect timeout never reached it). */
function cutByUs(o: Outcome): boolean {
  return o.kind === 'cancelled' || (o.kind === 'timeout' && o.phase !== 'connect');
}

/** The account with the most room relative to its cap that is neither resting nor disabled. */
function freeAccount(u: UpstreamState, now: number): Account | undefined {
  let best: Account | undefined;
  let bestShare = Infinity;
  for (const a of u.accounts) {
    const cap = accountCap(a);
    if (a.slots.inFlight >= cap || now < a.restingUntil || now < a.disabledUntil) continue;
    const share = a.slots.inFlight / cap;
    if (share < bestShare) {
      best = a;
      bestShare = share;
    }
  }
  return best;
}

/** Requests the account may have in flight now: its learned limit, never above its max_concurrency. */
function accountCap(a: Account): number {
  return Math.min(a.config.maxConcurrency, a.limit?.limit ?? Infinity);
}

/** A learned concurrency limit up to `max` (AIMD), or none when adaptive concurrency is off. */
function limitFor(a: Config['adaptiveConcurrency'], max: number): AimdLimit | undefined {
  if (!a.enabled) return undefined;
  const { decreaseFactor, decreaseIntervalMs } = a;
  return new AimdLimit({ max, minLimit: Math.min(a.minLimit, max), decreaseFactor, decreaseIntervalMs });
}

/**
 * The routes a request with `withinMs` left can be given: those whose mean service time fits it, when some do and
 * some do not (all of them when none is known to be slower, or none fits: then any is its best chance). The wait
 * queue serves in deadline order, so when it runs behind its plan the requests at its head have less time left
 * than a slow upstream's answer takes; given the slow upstream's free slot, each was cut at its deadline — the slot
 * wasted, the request lost — and the cuts in a row took that upstream out of rotation (`spillway demo`, seed 3).
 * Passed over, the slot goes to the next request that fits, and the urgent one takes the next faster slot.
 */
function fitting(states: readonly UpstreamState[], loads: RouteLoad[], withinMs: number): RouteLoad[] {
  if (withinMs === Infinity) return loads;
  const slow = states.map((u) => u.serviceMs > withinMs);
  if (!slow.some(Boolean) || slow.every(Boolean)) return loads;
  return loads.map((l, j) => (slow[j] === true ? { ...l, available: false } : l));
}
