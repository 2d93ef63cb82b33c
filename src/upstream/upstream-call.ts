import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** The response head of an upstream call. */
export interface UpstreamHead {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Bytes held unread before the upstream socket is paused (backpressure: a slow client slows the upstream read). */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * One upstream request as an undici dispatch handler, with its body read by pulling (`read()`): the lean path
 * instead of undici's `request()`, which wraps every call in an AsyncResource, a Readable body stream and a
 * promise per chunk of its async iterator, and builds a `RequestAbortedError` (with a stack trace) whenever a body
 * is given up. Lifecycle (undici's handler contract, docs/Dispatcher.md): `head` settles once — with the status
 * and headers, or with the error that ended the call before them; after the head, chunks queue until read, `read()`
 * resolving null at the end or rejecting with the error that cut the body. `abort()` may come at any time, any
 * number of times; the first reason wins.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler, AsyncIterable<Buffer> {
  readonly head: Promise<UpstreamHead>;
  private settleHead: { resolve: (h: UpstreamHead) => void; reject: (e: Error) => void } | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private abortReason: Error | undefined;
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: { resolve: (c: Buffer | null) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.head = new Promise((resolve, reject) => {
      this.settleHead = { resolve, reject };
    });
  }

  /** True once the body ended, failed or was aborted: nothing more will come. */
  get finished(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Ends the call (a timeout, the client leaving, the caller done with an unread body). */
  abort(reason: Error): void {
    if (this.finished || this.abortReason !== undefined) return;
    this.abortReason = reason;
    // Before undici started the request, onRequestStart aborts it; after, the controller does it now.
    this.controller?.abort(reason);
  }

  /** The next chunk of the body, or null at its end; rejects with the error that cut it. One read at a time. */
  read(): Promise<Buffer | null> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      this.queuedBytes -= chunk.length;
      if (this.controller?.paused === true && this.queuedBytes < HIGH_WATER_BYTES) this.controller.resume();
      return Promise.resolve(chunk);
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (let c = await this.read(); c !== null; c = await this.read()) yield c;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason !== undefined) controller.abort(this.abortReason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the real head follows
    this.settleHead?.resolve({ status: statusCode, headers });
    this.settleHead = undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= HIGH_WATER_BYTES) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const e = this.abortReason ?? err;
    if (this.settleHead !== undefined) {
      this.settleHead.reject(e);
      this.settleHead = undefined;
    }
    if (this.ended) return;
    this.failure = e;
    // As a destroyed stream does: what was not read yet is dropped, the reader hears the error next.
    this.chunks.length = 0;
    this.queuedBytes = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }
}
