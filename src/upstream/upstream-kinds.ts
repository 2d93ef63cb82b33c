import type { UpstreamConfig } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import { probeKind } from './kind-probe.ts';
import type { UpstreamKind } from './upstream-kind.ts';

/** Longest one kind probe may take. Probes run in the background at startup: nothing waits on them. */
const KIND_PROBE_TIMEOUT_MS = 3000;

/**
 * The kind of each upstream as known now: the config's (set, or told by the URL) unless the config left it to a
 * probe, then what the probe learned — `openai` (the config's fallback) until it answers, and for good if it
 * never does. Lives as long as the gateway: a reload keeps what was learned for the same URL.
 */
export class UpstreamKinds {
  private readonly learned = new Map<string, UpstreamKind>();
  private readonly probes = new Map<string, Promise<void>>();

  of(u: UpstreamConfig): UpstreamKind {
    return u.kindProbe ? (this.learned.get(u.url) ?? u.kind) : u.kind;
  }

  /**
   * Starts one probe per upstream that needs one and has not had it (off the request path: requests go on with
   * the static kind meanwhile). The promise resolves once every probe started so far has ended; it never rejects.
   */
  probe(upstreams: readonly UpstreamConfig[], log: Logger, timeoutMs = KIND_PROBE_TIMEOUT_MS): Promise<void> {
    for (const u of upstreams) {
      if (!u.kindProbe || u.simulated || this.probes.has(u.url)) continue;
      this.probes.set(
        u.url,
        probeKind(u, timeoutMs).then((kind) => {
          if (kind === undefined) {
            log.info(
              { upstream: u.name, kind: u.kind },
              'upstream kind not told by GET /models: treated as generic OpenAI-compatible (set upstreams[].kind to change it)',
            );
            return;
          }
          this.learned.set(u.url, kind);
          log.info({ upstream: u.name, kind }, 'upstream kind learned from GET /models');
        }),
      );
    }
    return this.settled();
  }

  /** Resolves once every probe started so far has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.probes.values());
  }
}
