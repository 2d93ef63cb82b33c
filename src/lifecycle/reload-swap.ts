import type { Config } from '../config/types.ts';
import { configChanges } from '../config/reload-config.ts';
import { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { AdmissionQueue } from '../queue/admission-queue.ts';
import { buildRuntime, type Runtime, type RuntimeShared } from './runtime.ts';

/** What a reload did: top-level config sections that changed, and settings only a restart can apply. */
export interface ReloadResult {
  source: string;
  changed: string[];
  restartNeeded: string[];
  /** Requests that were inside the replaced pipeline at the swap: they finish on it before it is closed. */
  inFlightOnOld: number;
}

export interface ReloadSwapDeps {
  shared: RuntimeShared;
  log: Logger;
  metrics: Metrics;
  /** The config a reload without one swaps in: the config file, re-read and validated. */
  read: () => Config;
  /** Throws when the next config may not be served where the gateway listens. */
  refuse: (next: Config) => void;
  /** Probe the kinds of the next config's upstreams (as at startup). */
  probeKinds: boolean;
  /** The listener, admin surface and logs take the next config (surface.ts). */
  reconfigure: (next: Config, old: Config) => Promise<void>;
}

/**
 * The live runtime and the swap that replaces it without dropping a request: new requests go to a pipeline built
 * from the next config, in-flight ones finish on the old one, which is then closed. An invalid config throws
 * `config_invalid` and changes nothing. Reloads run one at a time, in the order they were asked for.
 */
export class ReloadSwap {
  private current: Runtime;
  private readonly deps: ReloadSwapDeps;
  private chain: Promise<unknown> = Promise.resolve();
  /** Replaced runtimes that still finish requests; each promise ends once its runtime is closed. */
  private readonly retiring = new Set<Promise<void>>();
  /** Queues of replaced runtimes: requests still wait in them for a slot. */
  private readonly waitingOld = new Set<AdmissionQueue>();
  loadedAt = new Date().toISOString();
  reloads = 0;

  constructor(initial: Runtime, deps: ReloadSwapDeps) {
    this.current = initial;
    this.deps = deps;
  }

  get live(): Runtime {
    return this.current;
  }

  /** Pipelines replaced by a reload that still finish requests (closed once they are done). */
  get stillFinishing(): number {
    return this.retiring.size;
  }

  reload(next?: Config): Promise<ReloadResult> {
    const run = this.chain.then(() => this.swap(next));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no reload is running. */
  async swapsEnded(): Promise<void> {
    await this.chain;
  }

  /** Resolves once every reload asked for so far has ended and every runtime it replaced has been closed. */
  async settled(): Promise<void> {
    await this.chain;
    await Promise.all([...this.retiring]);
  }

  private async swap(given: Config | undefined): Promise<ReloadResult> {
    const next = this.admit(given);
    const old = this.current;
    if (this.deps.probeKinds) void this.deps.shared.kinds.probe(next.upstreams, this.deps.log);
    const fresh = buildRuntime(next, this.deps.shared, old);
    if (fresh.state === old.state) old.handOnState();
    // From here on new requests take the new pipeline; the old one keeps the requests it has.
    this.current = fresh;
    await this.deps.reconfigure(next, old.config);
    this.retire(old, fresh);
    this.reloads++;
    this.loadedAt = new Date().toISOString();
    this.deps.metrics.configReloads.inc({ result: 'ok' });
    const result = { source: next.source, ...configChanges(old.config, next), inFlightOnOld: old.inFlight() };
    this.deps.log.info(result, 'config reloaded');
    if (result.restartNeeded.length > 0)
      this.deps.log.warn({ keys: result.restartNeeded }, 'these settings changed but apply only after a restart');
    return result;
  }

  /** The next config, or a throw that counts as an invalid reload and leaves the config in force. */
  private admit(given: Config | undefined): Config {
    try {
      const next = given ?? this.deps.read();
      refuseKeepingConfig(this.deps.refuse, next);
      return next;
    } catch (err) {
      this.deps.metrics.configReloads.inc({ result: 'invalid' });
      throw err;
    }
  }

  /** The old runtime stops polling and is closed once its requests are done. */
  private retire(old: Runtime, fresh: Runtime): void {
    old.stopPolling();
    // The slot counters are shared, so any release may serve a request waiting in any queue: those waiting in
    // replaced pipelines came first and are served first, then the live queue.
    this.waitingOld.add(old.queue);
    old.balancer.onRelease = this.pumpAll;
    fresh.balancer.onRelease = this.pumpAll;
    const retire: Promise<void> = old
      .idle()
      .then(() => old.close())
      .catch((err: unknown) => {
        this.deps.log.error({ err }, 'closing the replaced pipeline failed');
      })
      .finally(() => {
        this.waitingOld.delete(old.queue);
        this.retiring.delete(retire);
      });
    this.retiring.add(retire);
  }

  private readonly pumpAll = (): void => {
    for (const q of this.waitingOld) q.pump();
    this.current.queue.pump();
  };
}

/** A reload must not take the keys away from a listener that is not on loopback. */
function refuseKeepingConfig(refuse: (next: Config) => void, next: Config): void {
  try {
    refuse(next);
  } catch (err) {
    throw new SpillwayError('config_invalid', `${(err as Error).message}\nThe config in force was kept.`, {
      cause: err,
    });
  }
}
