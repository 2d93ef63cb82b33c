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
  /** DeepSeek's context cache: prompt tokens it held and did not (when the upstream reports them). */
  promptCacheHitTokens: number | undefined;
  promptCacheMissTokens: number | undefined;
}

export interface RequestFilter {
  limit: number;
  upstream?: string | undefined;
  code?: string | undefined;
  /** Only requests answered with an HTTP status of 400 or more (or client_closed). */
  errors?: boolean | undefined;
}

/** A finished request as the server hands it over: the record without its wall-clock time (given apart, as a number). */
export type FinishedRequest = Omit<RequestRecord, 'time'>;

/** String columns per slot: requestId, method, path, model, tenant, priority, upstream, code, cache. */
const STRS = 9;
/**
 * Number columns per slot: time (epoch ms), ms, ttftMs, upstreamMs, promptTokens, completionTokens, status, attempts,
 * promptCacheHitTokens, promptCacheMissTokens.
 */
const NUMS = 10;

/**
 * The last N finished requests, in memory: a fixed ring, so memory stays bounded however busy the gateway is, and
 * recording is O(1) on the request path. Resizable, because a config reload may change admin.request_log_size.
 *
 * Stored as columns (numbers in one Float64Array, strings in one array), not as the records themselves: a record
 * kept for the ring outlives the young generation, and promoting one object with its time string per request cost
 * about 5% of the gateway's CPU per request (bench A/B). What survives now is only what is new per request anyway
 * (its id, path and model strings); records are rebuilt when somebody reads them.
 */
export class RequestLog {
  private size_ = 0;
  private nums = new Float64Array(0);
  private strs: (string | undefined)[] = [];
  private streams = new Int8Array(0);
  private count = 0;
  private next = 0;

  constructor(size: number) {
    this.allocate(size);
  }

  get size(): number {
    return this.size_;
  }

  push(r: FinishedRequest, atMs: number): void {
    const n = this.size_;
    if (n === 0) return;
    const i = this.next;
    // Unrolled, in the column order above: this runs once per request.
    const nums = this.nums;
    const o = i * NUMS;
    nums[o] = atMs;
    nums[o + 1] = r.ms;
    nums[o + 2] = r.ttftMs ?? NaN;
    nums[o + 3] = r.upstreamMs;
    nums[o + 4] = r.promptTokens ?? NaN;
    nums[o + 5] = r.completionTokens ?? NaN;
    nums[o + 6] = r.status;
    nums[o + 7] = r.attempts;
    nums[o + 8] = r.promptCacheHitTokens ?? NaN;
    nums[o + 9] = r.promptCacheMissTokens ?? NaN;
    const strs = this.strs;
    const q = i * STRS;
    strs[q] = r.requestId;
    strs[q + 1] = r.method;
    strs[q + 2] = r.path;
    strs[q + 3] = r.model;
    strs[q + 4] = r.tenant;
    strs[q + 5] = r.priority;
    strs[q + 6] = r.upstream;
    strs[q + 7] = r.code;
    strs[q + 8] = r.cache;
    this.streams[i] = r.stream === undefined ? -1 : r.stream ? 1 : 0;
    this.next = (i + 1) % n;
    if (this.count < n) this.count++;
  }

  /** Keeps the newest `size` records. */
  resize(size: number): void {
    if (size === this.size_) return;
    const kept = this.recent({ limit: size }).reverse();
    this.allocate(size);
    for (const r of kept) this.push(r, Date.parse(r.time));
  }

  /** Newest first, filtered, at most `limit`. */
  recent(f: RequestFilter): RequestRecord[] {
    const out: RequestRecord[] = [];
    const n = this.size_;
    for (let back = 1; back <= this.count && out.length < f.limit; back++) {
      const i = (this.next - back + n) % n;
      const s = i * STRS;
      if (f.upstream !== undefined && this.strs[s + 6] !== f.upstream) continue;
      if (f.code !== undefined && this.strs[s + 7] !== f.code) continue;
      if (f.errors === true && (this.nums[i * NUMS + 6] as number) < 400) continue;
      out.push(this.record(i));
    }
    return out;
  }

  private record(i: number): RequestRecord {
    const num = (k: number): number | undefined => {
      const v = this.nums[i * NUMS + k] as number;
      return Number.isNaN(v) ? undefined : v;
    };
    const str = (k: number): string | undefined => this.strs[i * STRS + k];
    const stream = this.streams[i];
    return {
      time: new Date(num(0) ?? 0).toISOString(),
      requestId: str(0) ?? '',
      method: str(1),
      path: str(2),
      model: str(3) ?? '',
      stream: stream === -1 ? undefined : stream === 1,
      tenant: str(4),
      priority: str(5) ?? '',
      upstream: str(6),
      attempts: num(7) ?? 0,
      status: num(6) ?? 0,
      code: str(7) ?? '',
      cache: str(8),
      ms: num(1) ?? 0,
      ttftMs: num(2),
      upstreamMs: num(3) ?? 0,
      promptTokens: num(4),
      completionTokens: num(5),
      promptCacheHitTokens: num(8),
      promptCacheMissTokens: num(9),
    };
  }

  private allocate(size: number): void {
    this.size_ = size;
    this.nums = new Float64Array(size * NUMS);
    this.strs = new Array<string | undefined>(size * STRS).fill(undefined);
    this.streams = new Int8Array(size);
    this.count = 0;
    this.next = 0;
  }
}
