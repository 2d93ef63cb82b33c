import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEngineMetrics } from '../../../src/balance/engine-load.ts';

test('engine metrics are read from vLLM and SGLang exposition text', () => {
  const vllm = [
    '# HELP vllm:num_requests_waiting Number of requests waiting.',
    '# TYPE vllm:num_requests_waiting gauge',
    'vllm:num_requests_waiting{engine="0",model_name="ds"} 7.0',
    'vllm:num_requests_waiting{engine="1",model_name="ds"} 3.0',
    'vllm:num_requests_running{engine="0",model_name="ds"} 12.0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="ds"} 0.42',
    'vllm:kv_cache_usage_perc{engine="1",model_name="ds"} 0.97',
    'process_cpu_seconds_total 12.5',
  ].join('\n');
  assert.deepEqual(parseEngineMetrics(vllm), { waiting: 10, running: 12, kvUsage: 0.97 });
  const sglang =
    'sglang:num_queue_reqs{model_name="x"} 4\nsglang:num_running_reqs{model_name="x"} 2\nsglang:token_usage{model_name="x"} 0.5\n';
  assert.deepEqual(parseEngineMetrics(sglang), { waiting: 4, running: 2, kvUsage: 0.5 });
  assert.equal(parseEngineMetrics('process_cpu_seconds_total 1\n'), undefined, 'not an engine');
  assert.equal(parseEngineMetrics('vllm:num_requests_waiting garbage\n'), undefined);
});
