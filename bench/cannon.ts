import autocannon from 'autocannon';

/** What one closed-loop autocannon slice measured. */
export interface Slice {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Errors, timeouts and non-2xx answers: a slice with any is not a measurement of the happy path. */
  bad: number;
}

/** `seconds` of POSTs of `body` to `url` on `connections` keep-alive connections, no pipelining. */
export async function cannon(url: string, body: string, connections: number, seconds: number): Promise<Slice> {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
    timeout: 10,
    duration: seconds,
  });
  return {
    requests: r.requests.total,
    seconds: r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.errors + r.timeouts + r.non2xx,
  };
}
