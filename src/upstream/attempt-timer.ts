import { MAX_TIMER_MS } from '../clock.ts';
import type { TimeoutPhase } from './outcome.ts';
import { boundIdleMs } from './adaptive-timeouts.ts';
import { tooSlow, type PaceWatch } from './stream-pace.ts';
import type { Prefill, UpstreamHeard } from './upstream-heard.ts';

/**
 * The timeouts of one attempt on a single timer: first token (keep-alive comments and blank lines do not count as
 * a token), idle between chunks after the first token, total, and the request's own deadline. Progress only
 * records a timestamp; the timer checks lazily when it fires, so a stream of thousands of chunks costs no timer
 * churn. It also counts what the attempt showed: keep-alives before the first token (a provider queueing us) and
 * the longest gap between chunks after it (what the idle timeout learns from). A silence or a late first token that
 * its upstream as a whole explains — a pause of every answer there, a long prompt it reads, its own queue — is not
 * held against the attempt: what the attempts on one upstream share is in upstream-heard.ts.
 */
export interface AttemptTimeouts {
  firstTokenMs: number;
  idleMs: number;
  totalMs: number;
  /**
   * When set, a silence is also cut once half of what is left before the deadline has passed (never before this
   * floor), so that a stall mid-answer still leaves a retry or a continuation room (adaptive-timeouts.ts).
   */
  idleSplitFloorMs?: number | undefined;
  /**
   * Set when a stream too slow to finish in time may be cut for a continuation elsewhere (stream-pace.ts). Asked at
   * each data event, not once: a stream that began before its upstream's pace was learned is judged once it is.
   */
  pace?: (() => PaceWatch | undefined) | undefined;
  /**
   * Set when the idle timeout is the cold one (the upstream had not shown enough answers when the attempt began):
   * asked again at most every `COLD_RECHECK_MS` until it answers, so an attempt begun in the gateway's first second
   * is held to what its upstream has shown since, not to the cold 30 s.
   */
  learnedIdle?: (() => { idleMs: number; idleSplitFloorMs: number | undefined } | undefined) | undefined;
  /**
   * With `upstream`, the least silence cut while no other attempt on the same upstream has sent a byte since this
   * one's last: a stall is one answer gone silent while its upstream's others go on. A silence the whole upstream
   * shares (a starved process, the network, our own loop) waits this long instead of the lower floor.
   */
  quietIdleFloorMs?: number | undefined;
  /**
   * With `upstream`: a silence the whole upstream shares is not held against this answer while the upstream prefills
   * a request sent as it fell quiet (until that request's first token is due), nor once it has ended. Engines that
   * run a prompt's prefill between decode steps (llama.cpp and Ollama on a CPU or a small GPU, SGLang without mixed
   * chunks) pause every stream while a long prompt is read: seconds, past the 5 s idle floor, so a rare long prompt
   * cut every answer in flight there (in-band errors where no exact continuation exists). Off where idle is pinned.
   */
  excuseSharedSilence?: boolean | undefined;
  /**
   * How long this attempt's prompt may take to prefill (its stream's first-token timeout): while it does, the
   * upstream's silence is excused for the answers in flight there (`excuseSharedSilence`).
   */
  prefillMs?: number | undefined;
  /**
   * Set for an attempt whose first-token timeout is adaptive: how long after it was sent it may wait for its first
   * token while found waiting its turn in the upstream's own queue (see `waitsInQueue`), instead of being cut.
   */
  queueHoldMs?: number | undefined;
  /** The first token is the whole answer (a non-stream request): it shows nothing of when the answer started. */
  wholeAnswer?: boolean | undefined;
  /** What the attempts on this upstream heard (shared by its attempts; pools.ts `heard`). */
  upstream?: UpstreamHeard | undefined;
}

/** While a silence waits only because its upstream is quiet, how often to look whether another attempt spoke (ms). */
const QUIET_RECHECK_MS = 100;

/** An upstream that sent some attempt a byte this recently is alive (as the whole-upstream quiet floor: 2 s). */
const QUEUE_ALIVE_MS = 2_000;

/** How often a cold idle timeout asks whether the upstream's gaps are known yet (ms). */
const COLD_RECHECK_MS = 500;

/**
 * An attempt sent this much later than one still waiting for its first token, and started first, passed it over:
 * engines start requests in the order they came, and within this the order two connections deliver them may differ.
 */
const OVERTAKE_SLACK_MS = 250;

/**
 * A prefill explains an upstream falling quiet if its request was sent before, or this soon after, the last byte
 * anyone heard there: an engine finishes the decode step under way, then reads the new prompt. A request sent later
 * into a silence cannot have caused it, so a hung upstream still receiving requests is not excused for ever.
 */
const PREFILL_SLACK_MS = 500;

export class AttemptTimer {
  private readonly now: () => number;
  private readonly sentAt: number;
  private readonly firstTokenAt: number;
  /** Until when a first token waiting its turn in the upstream's queue may wait (undefined: it may not). */
  private readonly queueHoldUntil: number | undefined;
  private readonly wholeAnswer: boolean;
  private readonly totalAt: number;
  private readonly deadlineAt: number;
  private idleMs: number;
  private idleSplitFloorMs: number | undefined;
  private learnedIdle: AttemptTimeouts['learnedIdle'];
  private readonly quietIdleFloorMs: number | undefined;
  private readonly excuseSharedSilence: boolean;
  private readonly upstream: UpstreamHeard | undefined;
  /** This attempt's own prefill, while it is registered with its upstream's. */
  private prefill: Prefill | undefined;
  private readonly onTimeout: (phase: TimeoutPhase) => void;
  private readonly pace: (() => PaceWatch | undefined) | undefined;
  private lastActivity: number;
  private gotFirstToken = false;
  private handle: NodeJS.Timeout | undefined;
  /** A silence found due, waiting for the I/O that may already be in (see `check`). */
  private confirming: NodeJS.Immediate | undefined;
  fired: TimeoutPhase | undefined;
  /** Clock time of the first real token, once it came. */
  firstTokenSeenAt: number | undefined;
  /** Keep-alives (blank lines, SSE comments) received before the first token. */
  keepAlives = 0;
  /** Found waiting past its first-token time in its upstream's own queue (see `waitsInQueue`). */
  queuedSilently = false;
  /** The longest silence between two chunks after the first token (ms). */
  maxGapMs = 0;
  /** Data events after the first token, and when the last came: the attempt's pace. */
  eventsAfterFirst = 0;
  lastEventAt = 0;

  constructor(now: () => number, t: AttemptTimeouts, deadlineAt: number, onTimeout: (phase: TimeoutPhase) => void) {
    this.now = now;
    const start = now();
    this.sentAt = start;
    this.firstTokenAt = start + t.firstTokenMs;
    this.queueHoldUntil = t.queueHoldMs === undefined ? undefined : start + t.queueHoldMs;
    this.wholeAnswer = t.wholeAnswer === true;
    this.totalAt = start + t.totalMs;
    this.deadlineAt = deadlineAt;
    this.idleMs = t.idleMs;
    this.idleSplitFloorMs = t.idleSplitFloorMs;
    this.learnedIdle = t.learnedIdle;
    this.quietIdleFloorMs = t.quietIdleFloorMs;
    this.excuseSharedSilence = t.excuseSharedSilence === true;
    this.upstream = t.upstream;
    this.pace = t.pace;
    this.lastActivity = start;
    this.onTimeout = onTimeout;
    if (t.prefillMs !== undefined) this.prefill = t.upstream?.prefill(start, start + t.prefillMs);
    this.arm();
  }

  /** Any bytes from the upstream (keeps the idle timer fed; does not count as a first token). */
  activity(): void {
    const now = this.now();
    if (this.gotFirstToken && now - this.lastActivity > this.maxGapMs) this.maxGapMs = now - this.lastActivity;
    this.lastActivity = now;
    this.upstream?.bytes(now);
  }

  /** A keep-alive (blank line, SSE comment): no progress; before the first token, a sign of a queueing upstream. */
  keepAlive(): void {
    if (!this.gotFirstToken) this.keepAlives++;
  }

  /**
   * Whether the upstream held the attempt with keep-alives and no token so far, in its queue: a queue starts requests
   * in the order they came, so a hold that a request sent well after it on the same upstream has passed is a stall
   * (a fault), not a queue. Read as a queue, every such stall lowered the upstream's learned limit: with a tenth of
   * every upstream's requests held forever (the fault matrix's `keep-alive-forever`) the limits fell to 2–6 of 16
   * while hundreds waited, and the door refused work at 0.4× capacity.
   */
  get queuedUpstream(): boolean {
    return !this.gotFirstToken && this.keepAlives > 0 && !this.passedOver;
  }

  /** An attempt sent well after this one on the same upstream has started: engines and queues start in order. */
  private get passedOver(): boolean {
    return this.upstream?.startedAfter(this.sentAt + OVERTAKE_SLACK_MS) !== undefined;
  }

  firstToken(): void {
    // The timer was armed for the first-token timeout; the idle limit after it may be due much sooner.
    const rearm = !this.gotFirstToken && this.handle !== undefined;
    this.gotFirstToken = true;
    this.prefilled();
    this.lastActivity = this.now();
    if (this.firstTokenSeenAt === undefined) this.upstream?.started(this.sentAt, this.lastActivity);
    this.firstTokenSeenAt ??= this.lastActivity;
    this.lastEventAt = this.lastActivity;
    if (rearm) {
      this.stop();
      this.arm();
    }
  }

  /** `n` data events arrived (stream-pace.ts judges the pace here, where it changes, not on a timer). */
  dataEvents(n: number): void {
    if (this.firstTokenSeenAt === undefined || this.fired !== undefined) return;
    this.eventsAfterFirst += n;
    this.lastEventAt = this.now();
    const watch = this.pace?.();
    if (watch === undefined) return;
    if (
      !tooSlow(watch, {
        events: this.eventsAfterFirst,
        firstAt: this.firstTokenSeenAt,
        lastAt: this.lastEventAt,
        deadlineAt: this.deadlineAt,
      })
    )
      return;
    this.stop();
    this.fired = 'pace';
    this.onTimeout('pace');
  }

  /** The mean gap between data events after the first token, when there were some. */
  get meanGapMs(): number | undefined {
    return this.firstTokenSeenAt === undefined || this.eventsAfterFirst === 0
      ? undefined
      : (this.lastEventAt - this.firstTokenSeenAt) / this.eventsAfterFirst;
  }

  stop(): void {
    this.prefilled();
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    if (this.confirming !== undefined) clearImmediate(this.confirming);
    this.confirming = undefined;
  }

  /** The phase that is due at `now`, if any: pure, so the order of checks is testable. */
  due(now: number): TimeoutPhase | undefined {
    if (now >= this.deadlineAt && this.deadlineAt <= this.totalAt) return 'deadline';
    if (now >= this.totalAt) return 'total';
    if (!this.gotFirstToken && now >= this.firstTokenAt && !this.waitsInQueue(now)) return 'first_token';
    if (this.gotFirstToken && now >= this.idleDueAt()) return 'idle';
    return undefined;
  }

  /**
   * Past its first-token time, whether the attempt waits its turn in the upstream's own queue rather than stalled:
   * a self-hosted engine (vLLM, SGLang, llama.cpp, Ollama) queues what it cannot run yet, without a word, so the wait
   * is part of the time to first token. It is, while (within its hold) no keep-alive came (a provider that says it
   * queues us is pushback: classify.ts), the upstream is alive (some attempt there heard within the quiet floor), and
   * no attempt sent well after this one has started (engines start requests in order: one passed over is stalled).
   * Cut there, it lost its place, and its retry queued again at the back, on every attempt until the deadline.
   */
  private waitsInQueue(now: number): boolean {
    const u = this.upstream;
    const hold = this.queueHoldUntil;
    if (hold === undefined || u === undefined || this.keepAlives > 0 || now >= hold) return false;
    if (now - u.lastByteAt >= QUEUE_ALIVE_MS) return false;
    if (!this.wholeAnswer) return !this.passedOver;
    // A whole answer shows nothing until it is written: it started when the first attempt sent with or after it
    // did (engines start in order), and has its first-token time from then.
    const started = u.startedAfter(this.sentAt);
    return started === undefined || now < started + (this.firstTokenAt - this.sentAt);
  }

  /** When the silence since the last chunk is cut: its own limit, or later while its upstream's quiet holds it. */
  private idleDueAt(own = this.ownIdleDueAt()): number {
    return Math.max(own, this.quietHoldUntil());
  }

  /** When this answer's own limit ends, counted without the silence its upstream shared and ended meanwhile. */
  private ownIdleDueAt(): number {
    const from = this.countedFrom();
    return from + this.ownIdleLimit(from);
  }

  /**
   * Where this answer's silence starts to count: its last chunk, later by the silence its whole upstream shared
   * since and has ended (an engine that paused every stream, then went on). Were it counted, the answers paused
   * longer than their own limit would be cut the moment the first of them spoke again.
   */
  private countedFrom(): number {
    const shared = this.upstream?.lastSilence;
    // A silence that ended after this answer's last chunk began after it too: that chunk would have ended it.
    if (!this.excuseSharedSilence || shared === undefined || shared.to <= this.lastActivity) return this.lastActivity;
    return this.lastActivity + (shared.to - Math.max(shared.from, this.lastActivity));
  }

  /**
   * While nobody on its upstream has spoken since this answer's last chunk, the silence may be the upstream's as a
   * whole: it is cut no sooner than the quiet floor (where the lower floor applies), nor while a prefill that
   * explains it is under way; near the deadline, a retry must still fit. -Infinity: no hold.
   */
  private quietHoldUntil(): number {
    const u = this.upstream;
    if (u === undefined || u.lastByteAt > this.lastActivity) return -Infinity;
    const split = this.lastActivity + (this.deadlineAt - this.lastActivity) / 2;
    let until =
      this.quietIdleFloorMs === undefined ? -Infinity : Math.min(this.lastActivity + this.quietIdleFloorMs, split);
    if (this.excuseSharedSilence) {
      const prefill = u.prefillDueAt(this.lastActivity + PREFILL_SLACK_MS);
      until = Math.max(until, this.idleSplitFloorMs === undefined ? prefill : Math.min(prefill, split));
    }
    return until;
  }

  /**
   * The silence allowed from `from` (where it counts): the idle timeout, bounded so a retry still fits when asked
   * to, whatever the others on the upstream do.
   */
  private ownIdleLimit(from: number): number {
    const learned = this.learnedIdle?.();
    if (learned !== undefined) {
      this.learnedIdle = undefined;
      this.idleMs = learned.idleMs;
      this.idleSplitFloorMs = learned.idleSplitFloorMs;
    }
    const floor = this.idleSplitFloorMs;
    return floor === undefined ? this.idleMs : boundIdleMs(this.idleMs, floor, this.deadlineAt - from);
  }

  /** This attempt's prompt is read (its first token came), or it ended: it explains no silence of its upstream now. */
  private prefilled(): void {
    if (this.prefill === undefined) return;
    this.upstream?.prefilled(this.prefill);
    this.prefill = undefined;
  }

  private nextCheck(): number {
    const phaseAt = this.gotFirstToken
      ? this.idleAt()
      : this.queuedSilently
        ? Math.min(this.now() + QUIET_RECHECK_MS, this.queueHoldUntil ?? Infinity)
        : this.firstTokenAt;
    const relearnAt = this.gotFirstToken && this.learnedIdle !== undefined ? this.now() + COLD_RECHECK_MS : Infinity;
    return Math.min(phaseAt, relearnAt, this.totalAt, this.deadlineAt);
  }

  /** When the silence would be cut; while only the upstream's quiet holds it back, soon again to look. */
  private idleAt(): number {
    const own = this.ownIdleDueAt();
    const at = this.idleDueAt(own);
    return at > own ? Math.min(at, Math.max(own, this.now() + QUIET_RECHECK_MS)) : at;
  }

  private arm(): void {
    const delay = Math.max(1, Math.ceil(this.nextCheck() - this.now()));
    this.handle = setTimeout(() => this.check(), Math.min(delay, MAX_TIMER_MS));
    this.handle.unref();
  }

  /**
   * A silence (no first token, or idle) is judged only after yielding to I/O once: on a busy event loop the timer
   * can fire after the upstream's next bytes came in but before they were read, and a stall found that way would be
   * the gateway's own lag. The I/O phase runs before the immediate, so bytes already there are heard first.
   */
  private check(heard = false): void {
    this.handle = undefined;
    const now = this.now();
    const phase = this.due(now);
    if (phase === undefined) {
      // Past its first-token time and not cut: it waits its turn in the upstream's queue.
      if (!this.gotFirstToken && now >= this.firstTokenAt) this.queuedSilently = true;
      this.arm();
      return;
    }
    if (!heard && (phase === 'first_token' || phase === 'idle')) {
      this.confirming = setImmediate(() => {
        this.confirming = undefined;
        this.check(true);
      });
      return;
    }
    this.fired = phase;
    this.prefilled();
    this.onTimeout(phase);
  }
}
