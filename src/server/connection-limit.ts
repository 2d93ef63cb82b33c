import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { SpillwayError } from '../errors.ts';
import { writeRawError } from './client-error.ts';

/**
 * How long a refused connection may stay open after its answer: long enough for the client to read the 503 before
 * we close (closing with its request unread makes the kernel send a reset, which can destroy the answer in flight),
 * short enough that a flood of refused connections cannot pile up.
 */
const REFUSED_LINGER_MS = 1_000;

/**
 * `server.max_connections` with an answer. Node's own `maxConnections` closes a connection beyond the cap without a
 * word (the client sees a reset, an SDK a bare "connection error"); here it gets a complete HTTP 503
 * `too_many_connections` with `Retry-After` and is closed. Hand-written because Node offers only the silent drop.
 *
 * Nothing a flood sends becomes unbounded state: a refused connection is answered once, its bytes are read and
 * discarded, and it is destroyed after `REFUSED_LINGER_MS`; while as many refused connections as the cap itself are
 * still lingering, a further one is destroyed at once without an answer (the old drop), so a flood costs at most
 * twice the cap in sockets.
 */
export class ConnectionLimit {
  private open = 0;
  private lingering = 0;
  private readonly refused = new WeakSet<Duplex>();
  private readonly limit: () => number;
  private readonly onRefused: () => void;

  /** `limit` is read at every connection, so a reload's new cap applies to the next one. */
  constructor(server: Server, limit: () => number, onRefused: () => void) {
    this.limit = limit;
    this.onRefused = onRefused;
    server.on('connection', (socket: Duplex) => this.onConnection(socket));
  }

  /** Connections refused here are not the API's: their requests are ignored (their answer was already written). */
  isRefused(socket: Duplex): boolean {
    return this.refused.has(socket);
  }

  private onConnection(socket: Duplex): void {
    if (this.open < this.limit()) {
      this.open++;
      socket.once('close', () => this.open--);
      return;
    }
    this.onRefused();
    this.refused.add(socket);
    socket.on('error', () => undefined);
    if (this.lingering >= this.limit()) {
      socket.destroy();
      return;
    }
    this.lingering++;
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    socket.once('close', () => {
      this.lingering--;
      clearTimeout(timer);
    });
    writeRawError(
      socket,
      new SpillwayError(
        'too_many_connections',
        'The gateway already holds its limit of client connections (server.max_connections); retry shortly.',
        { retryAfterS: 1 },
      ),
    );
    socket.resume();
  }
}
