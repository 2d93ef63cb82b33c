import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Pool as UndiciPool } from 'undici';

/**
 * undici's Pool and Agent, loaded without the rest of undici. `import … from 'undici'` loads its whole index:
 * fetch, WebSocket, EventSource, the cache and mock agents, a hundred-odd modules that every gateway process would
 * hold (~2 MB of idle memory) and that the gateway does not use. These two are all the upstream path and the jobs
 * need; `request()` and friends go on the dispatchers' prototype as undici's index puts them there. The features
 * that use undici's top-level `request()` (kind probe, engine metrics, webhooks) import 'undici' when they run.
 * The paths are undici's own files (it declares no `exports`); every upstream call goes through them, so an
 * undici that moved them fails every test at once.
 */
const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
