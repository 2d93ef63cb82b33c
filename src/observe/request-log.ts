/** One finished API request, as the access log, GET /admin/requests and the dashboard show it. */
export interface RequestRecord {
  /** Wall-clock time the request finished (ISO 8601). */
  time: string;
  requestId: string;
  method: string | undefined;
  path: string | undefined;
  model: string;
  stream: boolean | undefined;
  tenant: string | undefined;
  priority: string;
  upstream: string | undefined;
  attempts: number;
  status: number;
  /** "ok", or the error code the client got (docs/errors.md), or client_closed. */
  code: string;
  /** x-spillway-cache as sent to the client (hit, miss, coalesced), when a cache is configured. */
  cache: string | undefined;
  ms: number;
  ttftMs: number | undefined;
  upstreamMs: number;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
}

export interface RequestFilter {
  limit: number;
  upstream?: string | undefined;
  code?: string | undefined;
  /** Only requests answered with an HTTP status of 400 or more (or client_closed). */
  errors?: boolean | undefined;
}

/**
 * The last N finished requests, in memory: a fixed ring, so memory stays bounded however busy the gateway is, and
 * recording is O(1) on the request path. Resizable, because a config reload may change admin.request_log_size.
 */
export class RequestLog {
  private ring: (RequestRecord | undefined)[];
  private next = 0;

  constructor(size: number) {
    this.ring = new Array<RequestRecord | undefined>(size);
  }

  get size(): number {
    return this.ring.length;
  }

  push(r: RequestRecord): void {
    if (this.ring.length === 0) return;
    this.ring[this.next] = r;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** Keeps the newest `size` records. */
  resize(size: number): void {
    if (size === this.ring.length) return;
    const kept = [...this.newestFirst()].slice(0, size).reverse();
    this.ring = new Array<RequestRecord | undefined>(size);
    this.next = 0;
    for (const r of kept) this.push(r);
  }

  /** Newest first, filtered, at most `limit`. */
  recent(f: RequestFilter): RequestRecord[] {
    const out: RequestRecord[] = [];
    for (const r of this.newestFirst()) {
      if (out.length >= f.limit) break;
      if (f.upstream !== undefined && r.upstream !== f.upstream) continue;
      if (f.code !== undefined && r.code !== f.code) continue;
      if (f.errors === true && r.status < 400) continue;
      out.push(r);
    }
    return out;
  }

  private *newestFirst(): Generator<RequestRecord> {
    const n = this.ring.length;
    for (let i = 1; i <= n; i++) {
      const r = this.ring[(this.next - i + n) % n];
      if (r === undefined) return;
      yield r;
    }
  }
}
