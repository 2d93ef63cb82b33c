import type { LongLived } from './long-lived.ts';
import type { ReloadSwap } from './reload-swap.ts';
import type { Surface } from './surface.ts';

/** The parts of a running gateway, in the order they were started. */
export interface GatewayParts {
  features: LongLived;
  swap: ReloadSwap;
  surface: Surface;
}

/**
 * Stops taking requests, lets in-flight ones finish for up to `graceMs`, then closes everything, the last started
 * first. Resolves true when every request finished within the grace period.
 */
export async function stopGateway({ features, swap, surface }: GatewayParts, graceMs: number): Promise<boolean> {
  features.jobs?.stopTaking(); //                      no new job items; those in flight finish with the drain
  const clean = await surface.http.drain(graceMs);
  surface.stats.stop();
  await swap.swapsEnded();
  // Past the grace period: cut what is left, so requests still inside a replaced pipeline end and it can close.
  surface.http.server.closeAllConnections();
  await features.jobs?.close(); //                     the runner's items are recorded or given back; the store closes
  await swap.live.close();
  await swap.settled();
  await surface.closeAccessLog();
  await features.cache?.close();
  await features.responses.close();
  await features.tracing?.shutdown();
  return clean;
}
