/**
 * The load a self-hosted engine reports on its Prometheus `/metrics`: requests waiting in its own queue, requests
 * running, and KV-cache use (0–1). vLLM and SGLang name them differently; both are read. An engine whose queue is
 * long or whose KV cache is nearly full will be slow to start the next answer even when the gateway sends it few
 * requests, so this feeds the balancer's choice.
 *
 * Hand-written: a line filter for a handful of gauges; a full Prometheus text parser would be more than needed.
 */
export interface EngineLoad {
  waiting: number;
  running: number;
  kvUsage: number;
}

const WAITING = ['vllm:num_requests_waiting', 'sglang:num_queue_reqs'];
const RUNNING = ['vllm:num_requests_running', 'sglang:num_running_reqs'];
const KV = ['vllm:gpu_cache_usage_perc', 'vllm:kv_cache_usage_perc', 'sglang:token_usage'];

export function parseEngineMetrics(text: string): EngineLoad | undefined {
  let waiting = 0;
  let running = 0;
  let kv = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const name = line.slice(0, brace >= 0 && brace < space ? brace : line.indexOf(' '));
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    // Several label sets (one per model or engine) add up; KV use is the fullest one.
    if (WAITING.includes(name)) waiting += value;
    else if (RUNNING.includes(name)) running += value;
    else if (KV.includes(name)) kv = Math.max(kv, value);
    else continue;
    seen = true;
  }
  return seen ? { waiting, running, kvUsage: kv } : undefined;
}

/**
 * How many of our requests an engine with a queue runs, when `ours` of ours are in flight there: its running
 * requests (what it can run now: its batch, or fewer when its KV cache is full), in proportion to our share of
 * everything it holds (running and waiting; others may use it too). Our count and its gauges are read at different
 * moments: requests sent or finished in between make `ours − waiting` jitter around the truth; its own running count
 * does not. An engine that does not report it: ours less its queue.
 */
export function ourRunsOn(load: EngineLoad, ours: number): number {
  const held = load.running + load.waiting;
  if (load.running <= 0 || held <= 0) return ours - load.waiting;
  return Math.round(load.running * Math.min(1, ours / held));
}

/**
 * Whether an engine's queue says it is full. A request that reached it after its last scheduling step waits there
 * until the next one (milliseconds), with a slot about to free: a queue of one, read once, is that; read twice in a
 * row, or longer, it is a queue.
 */
export function engineQueues(load: EngineLoad, previous: EngineLoad | undefined): boolean {
  return load.waiting >= 2 || (load.waiting > 0 && (previous?.waiting ?? 0) > 0);
}
