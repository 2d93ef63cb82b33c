/**
 * Runs the LLM simulator (src/mock) as a bench child: `node bench/servers/mock.ts --token-ms 500 --max-tokens 16
 * [--slots N --queue N --keep-alive-ms 1000]`. Slots default to unlimited; requests beyond them wait in the mock's
 * queue and get DeepSeek-style `: keep-alive` comments until a slot frees.
 */
import { startMock } from '../../src/mock/server.ts';
import { argValue, serveChildProtocol } from './child-protocol.ts';

const num = (name: string, fallback: string): number => Number(argValue(name, fallback));
const slots = argValue('slots', 'unlimited');
const mock = await startMock({
  port: num('port', '0'),
  tokenMs: num('token-ms', '500'),
  defaultMaxTokens: num('max-tokens', '16'),
  slots: slots === 'unlimited' ? Infinity : Number(slots),
  queueSize: num('queue', '0'),
  keepAliveMs: num('keep-alive-ms', '1000'),
  queueTimeoutMs: num('queue-timeout-ms', '120000'),
});
serveChildProtocol(mock.port, () => mock.close());
