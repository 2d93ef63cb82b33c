import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeader } from 'node:http';

/** Where a flight's response goes: every client that shares it. */
export interface FlightSink {
  head(): void;
  write(chunk: string | Buffer): void;
  end(): void;
  /** The response broke after its headers (a bug path: the relay ends streams with an in-band error itself). */
  destroy(): void;
}

type HeaderValue = number | string | readonly string[];

/**
 * The response the attempt loop writes into when its answer is shared between clients (request coalescing). It
 * has the part of ServerResponse the loop and the relay use (status, headers, write, end, the drain and close
 * events) and records what was written, so a client that joins late gets it from the start and the whole answer
 * can be stored.
 *
 * `write` never asks the loop to wait: one slow client must not stall the answer of every other client sharing it
 * (nor, by stalling the upstream read, trip its idle timeout for all). What a slow client has not read yet waits in
 * its own socket buffer, bounded by the size of one answer.
 */
export class FlightResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  /** Everything written, in order. */
  readonly recorded: (string | Buffer)[] = [];
  private readonly headers = new Map<string, HeaderValue>();
  private readonly sink: FlightSink;

  constructor(sink: FlightSink) {
    super();
    this.sink = sink;
  }

  setHeader(name: string, value: HeaderValue): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.headers.get(name.toLowerCase());
  }

  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  /** The headers to copy onto each client's own response. */
  headerEntries(): [string, HeaderValue][] {
    return [...this.headers];
  }

  writeHead(status: number, headers?: Record<string, OutgoingHttpHeader>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.flushHeaders();
    return this;
  }

  flushHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.sink.head();
  }

  write(chunk: string | Buffer): boolean {
    if (this.writableEnded || this.destroyed) return false;
    this.flushHeaders();
    if (chunk.length === 0) return true;
    this.recorded.push(chunk);
    this.sink.write(chunk);
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded || this.destroyed) return this;
    if (chunk !== undefined) this.write(chunk);
    else this.flushHeaders();
    this.writableEnded = true;
    this.writableFinished = true;
    this.sink.end();
    this.emit('finish');
    this.emit('close');
    return this;
  }

  destroy(): this {
    if (this.destroyed || this.writableEnded) return this;
    this.destroyed = true;
    this.sink.destroy();
    this.emit('close');
    return this;
  }

  /** The whole body written so far, as text. */
  text(): string {
    return this.recorded.map((c) => (typeof c === 'string' ? c : c.toString('utf8'))).join('');
  }
}
