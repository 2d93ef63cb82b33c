/**
 * Runs Spillway with its default pipeline in front of one upstream: `node bench/servers/gateway.ts --upstream
 * http://127.0.0.1:PORT/v1 [--cache on]`. Request logging stays on (it is part of the default pipeline); its lines
 * go to /dev/null, batched as `spillway start` writes them to stdout, so the terminal is not what is measured. `--cache on` caches the model (bench/cache.ts).
 * `--max-concurrency N` states the upstream account's cap (bench/streams.ts: one upstream that takes every stream).
 */
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import { batchedDestination, createLogger } from '../../src/observe/log.ts';
import { argValue, serveChildProtocol } from './child-protocol.ts';

const cache = argValue('cache', 'off') === 'on' ? { cache: { models: ['chat'] } } : {};
const cap = argValue('max-concurrency', '');
const upstream = { name: 'up', url: argValue('upstream'), ...(cap === '' ? {} : { max_concurrency: Number(cap) }) };
const config = resolveConfig(
  { upstreams: [upstream], models: { chat: { routes: [{ upstream: 'up' }] } }, ...cache },
  'bench',
  {},
);
const gw = await startGateway(config, {
  port: Number(argValue('port', '0')),
  log: createLogger('info', batchedDestination('/dev/null')),
});
serveChildProtocol(gw.port, async () => {
  await gw.shutdown(0);
});
