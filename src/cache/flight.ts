import type { ServerResponse } from 'node:http';
import type { Handler } from '../pipeline.ts';
import { unserved, type RequestContext } from '../server/context.ts';
import { FlightResponse } from './flight-response.ts';
import { landedAnswer, type Answer } from './landed-answer.ts';
import { landedMessage } from './messages-answer.ts';
import { landedResponse } from './responses-answer.ts';

/** One client sharing a flight. */
export interface Passenger {
  ctx: RequestContext;
  /** Gets the flight's bytes as they are written: it asked for the same kind of answer (stream and usage alike). */
  live: boolean;
  /** The value of `x-spillway-cache` on its response. */
  label: 'miss' | 'coalesced';
}

/** How a flight ended, for the passengers that were not live and for the store. */
export interface Landing {
  /** The flight's error when it failed before writing anything (the client hears it as its own). */
  error: Error | undefined;
  /** The response was written to its end (successfully or with an in-band error). */
  ended: boolean;
  /** The complete answer, when there is one to share and store. */
  answer: Answer | undefined;
}

interface Seat {
  p: Passenger;
  done: () => void;
  onGone: () => void;
}

/**
 * One upstream call shared by identical requests in flight at the same time (request coalescing).
 *
 *   leader ──┐                         ┌──▶ live passengers: head, each chunk, end, as written
 *            ├─ Flight ─ downstream ─▶ FlightResponse ─┤
 *   joiner ──┘  (own abort signal)     └──▶ the rest: served from the Landing once it has landed
 *
 * The flight runs the rest of the pipeline on a context of its own whose abort signal fires only when every
 * passenger has left, so a client that goes away does not cancel the answer for the others. A passenger that
 * joins late first gets what was already written.
 *
 * A Messages-form flight (a Messages door request that may be passed through) writes through a door response of
 * its own in front of the FlightResponse, so what it records and shares is a Messages answer whether an attempt
 * was passed through or translated; each passenger's own door response then passes it on untranslated. A
 * Responses-form flight (a Responses door request that may be passed through) does the same with Responses answers.
 */
export class Flight {
  readonly ctx: RequestContext;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  private readonly messages: boolean;
  /** Some passenger may have the answer stored (`cache-control: no-store` forbids it only for its own request). */
  store = false;
  private readonly res: FlightResponse;
  private readonly abort = new AbortController();
  private readonly seats = new Set<Seat>();
  private served = 0;
  private landing: Landing | undefined;
  private answer: Answer | undefined;
  private readonly landed: Promise<Landing>;

  /**
   * `onAnswer` hears the complete answer (or undefined) the moment the response ends, before any client sees its
   * end, so it can be stored before a client could ask again; `onLand` hears the flight's end once the loop is done.
   */
  constructor(
    leader: RequestContext,
    form: { usage: boolean; messages: boolean },
    downstream: Handler<RequestContext>,
    onAnswer: (a: Answer | undefined) => void,
    onLand: (l: Landing, clients: number) => void,
  ) {
    this.stream = leader.call?.stream === true;
    this.includeUsage = form.usage;
    this.messages = form.messages;
    const land = !form.messages
      ? landedAnswer
      : leader.call?.native?.api === 'responses'
        ? landedResponse
        : landedMessage;
    this.res = new FlightResponse({
      head: () => this.each((s) => this.startLive(s.p)),
      write: (chunk) => this.each((s) => writeLive(s.p, chunk)),
      end: () => {
        this.answer = land(this.res.statusCode, this.res.text(), this.stream);
        onAnswer(this.answer);
        this.each((s) => endLive(s));
      },
      destroy: () => this.each((s) => s.p.ctx.res.destroy()),
    });
    this.ctx = {
      ...leader,
      ...this.ownDoor(leader),
      clientGone: this.abort.signal,
      ...unserved(),
    };
    this.landed = this.fly(downstream).then((l) => {
      this.landing = l;
      onLand(l, this.served);
      return l;
    });
  }

  /**
   * True until the flight has landed: a newcomer may join even after the last byte was written (it catches up),
   * which closes the gap between the answer's end and its arrival in the store.
   */
  get boarding(): boolean {
    return this.landing === undefined && !this.res.destroyed && !this.abort.signal.aborted;
  }

  /** Boards a passenger; resolves when it has been answered live, or with the landing it must be served from. */
  async board(p: Passenger): Promise<Landing | undefined> {
    this.served++;
    this.ctx.deadlineAt = Math.max(this.ctx.deadlineAt, p.ctx.deadlineAt);
    let seat: Seat | undefined;
    const delivered = new Promise<void>((resolve) => {
      const s: Seat = { p, done: resolve, onGone: () => this.leave(s) };
      seat = s;
      this.seats.add(s);
      p.ctx.clientGone.addEventListener('abort', s.onGone, { once: true });
    });
    const s = seat as Seat;
    if (p.live && this.res.headersSent) {
      // A late joiner catches up on what the others already have.
      this.startLive(p);
      for (const chunk of this.res.recorded) writeLive(p, chunk);
      if (this.res.writableEnded) endLive(s);
    }
    const l = await Promise.race([this.landed, delivered.then(() => undefined)]);
    this.seats.delete(s);
    p.ctx.clientGone.removeEventListener('abort', s.onGone);
    this.report(p);
    if (l === undefined || (p.live && l.error === undefined && p.ctx.res.headersSent)) return undefined;
    return l;
  }

  /**
   * The response and call the flight's pipeline writes to: the FlightResponse (the loop and relay use only its part
   * of ServerResponse: see that class), behind a door response of the flight's own for a Messages-form flight.
   */
  private ownDoor(leader: RequestContext): Pick<RequestContext, 'res' | 'call'> {
    const res = this.res as unknown as ServerResponse;
    const native = leader.call?.native;
    if (!this.messages || leader.call === undefined || native === undefined) return { res, call: leader.call };
    const own = native.door(res);
    return {
      res: own.res,
      call: { ...leader.call, native: { ...native, passThrough: (on: boolean) => own.passThrough(on) } },
    };
  }

  /** A live passenger's response starts: a Messages-form flight's bytes are Messages already (passed on as they are). */
  private startLive(p: Passenger): void {
    if (this.messages) p.ctx.call?.native?.passThrough(true);
    startLive(p, this.res);
  }

  private leave(s: Seat): void {
    this.seats.delete(s);
    s.done();
    if (this.seats.size === 0 && this.boarding) this.abort.abort();
  }

  private async fly(downstream: Handler<RequestContext>): Promise<Landing> {
    let error: Error | undefined;
    try {
      await downstream(this.ctx);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const res = this.res;
    if (error !== undefined && res.headersSent && !res.writableEnded) res.destroy();
    const ended = res.writableEnded;
    return { error: res.headersSent ? undefined : error, ended, answer: this.answer };
  }

  private each(f: (s: Seat) => void): void {
    for (const s of this.seats) if (s.p.live) f(s);
  }

  /** What the access log and metrics of a passenger say: who answered; the leader's usage is the leader's alone. */
  private report(p: Passenger): void {
    const f = this.ctx;
    p.ctx.upstream = f.upstream;
    if (p.label === 'miss') {
      p.ctx.attempts = f.attempts;
      p.ctx.upstreamMs = f.upstreamMs;
      p.ctx.usage = f.usage;
      p.ctx.ttftMs ??= f.ttftMs;
    }
    if (p.live && p.ctx.errorCode === undefined) p.ctx.errorCode = f.errorCode;
  }
}

function startLive(p: Passenger, from: FlightResponse): void {
  const res = p.ctx.res;
  if (res.headersSent || res.destroyed) return;
  res.statusCode = from.statusCode;
  for (const [k, v] of from.headerEntries()) res.setHeader(k, v);
  res.setHeader('x-spillway-cache', p.label);
  res.flushHeaders();
  p.ctx.settled = true;
}

function writeLive(p: Passenger, chunk: string | Buffer): void {
  const res = p.ctx.res;
  if (!res.writableEnded && !res.destroyed) res.write(chunk);
}

function endLive(s: Seat): void {
  const res = s.p.ctx.res;
  if (!res.writableEnded && !res.destroyed) res.end();
  s.done();
}
