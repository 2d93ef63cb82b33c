/** Runs bench/minimal-proxy.ts: `node bench/servers/passthrough.ts --upstream http://127.0.0.1:PORT`. */
import type { AddressInfo } from 'node:net';
import { createMinimalProxy } from '../minimal-proxy.ts';
import { argValue, serveChildProtocol } from './child-protocol.ts';

const proxy = createMinimalProxy(argValue('upstream'));
proxy.server.keepAliveTimeout = 60_000;
proxy.server.listen(Number(argValue('port', '0')), '127.0.0.1', () => {
  serveChildProtocol((proxy.server.address() as AddressInfo).port, () => proxy.close());
});
