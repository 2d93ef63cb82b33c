import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';

export type FuzzTarget = GatewayProcess;

/**
 * The gateway the fuzz runs against: a `spillway start` process on the mock with jobs, the cache and the open admin
 * API on, so every door is reachable. Short body allowances: inputs that promise more body than they send are cut
 * in seconds, not minutes; a 5 s default deadline ends whatever a fuzzed body asks the mock to do.
 */
export function startFuzzTarget(opts: { nodeFlags?: string[] } = {}): Promise<FuzzTarget> {
  return startGatewayProcess({
    ...opts,
    config: (mockUrl, dir) => ({
      server: {
        host: '127.0.0.1',
        port: 0,
        body_timeout: '2s',
        upload_timeout: '4s',
        default_deadline: '5s',
        body_limit_bytes: 1024 * 1024,
      },
      log: { level: 'warn', requests: false },
      upstreams: [{ name: 'mock0', url: `${mockUrl}/v1`, max_concurrency: 128 }],
      models: {
        chat: { routes: [{ upstream: 'mock0', model: 'chat' }] },
        embed: { routes: [{ upstream: 'mock0', model: 'embed' }] },
      },
      cache: { models: ['chat'] },
      // A tenant quota high enough that uploads keep reaching the multipart parser instead of the quota check.
      jobs: {
        enabled: true,
        data_dir: join(dir, 'jobs'),
        poll_interval: '200ms',
        max_file_bytes: 512 * 1024,
        tenant_max_files: 1_000_000,
      },
    }),
  });
}
