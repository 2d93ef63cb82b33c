import type { ServerResponse } from 'node:http';
import type { MockContext } from './context.ts';

/** Each engine's names for its running requests, waiting requests and KV-cache use (balance/engine-load.ts reads them). */
const NAMES = {
  vllm: ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc'],
  sglang: ['sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:token_usage'],
} as const;

/** Whether the simulated server is an engine that serves Prometheus `/metrics` (vLLM, SGLang do on their API port). */
export function servesEngineMetrics(ctx: MockContext): boolean {
  return ctx.opts.kind === 'vllm' || ctx.opts.kind === 'sglang';
}

/** The engine's `/metrics`: its slots in use, its queue and its "KV cache" (the share of slots in use). */
export function engineMetrics(ctx: MockContext, res: ServerResponse): void {
  const [running, waiting, kv] = NAMES[ctx.opts.kind === 'sglang' ? 'sglang' : 'vllm'];
  const labels = `{model_name="${ctx.opts.model}"}`;
  const slots = ctx.opts.slots;
  const used = ctx.slots.inUse;
  const lines = [
    `# TYPE ${running} gauge`,
    `${running}${labels} ${used}`,
    `# TYPE ${waiting} gauge`,
    `${waiting}${labels} ${ctx.slots.queued}`,
    `# TYPE ${kv} gauge`,
    `${kv}${labels} ${Number.isFinite(slots) && slots > 0 ? used / slots : 0}`,
  ];
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(`${lines.join('\n')}\n`);
}
