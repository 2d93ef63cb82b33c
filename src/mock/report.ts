import type { Exchange, MockContext } from './context.ts';
import { sendError, type MockError } from './openai-error.ts';

/** A refusal by the mock's own rules: counted in stats.rejected[reason], announced, answered as OpenAI JSON. */
export function refuse(ctx: MockContext, x: Exchange, reason: string, e: MockError): void {
  ctx.stats.rejected(reason);
  ctx.events.emit('rejected', { id: x.id, path: x.path, reason, status: e.status });
  sendError(x.res, e, ctx.headers);
}

/** An injected fault was applied: counted in stats.faults[kind] and announced as a 'fault' event. */
export function countFault(ctx: MockContext, x: Pick<Exchange, 'id' | 'path'>, kind: string): void {
  ctx.stats.fault(kind);
  ctx.events.emit('fault', { id: x.id, path: x.path, kind });
}
