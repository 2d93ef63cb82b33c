import type { Dispatcher } from 'undici';
import { UpstreamCall } from '../../src/upstream/upstream-call.ts';

/** An upstream body that has already received `chunks` and ended, fed through undici's handler calls. */
export function bodyOf(chunks: readonly Buffer[]): UpstreamCall {
  const call = new UpstreamCall();
  const controller: Dispatcher.DispatchController = {
    aborted: false,
    paused: false,
    reason: null,
    abort() {},
    pause() {},
    resume() {},
  };
  call.onRequestStart(controller);
  call.onResponseStart(controller, 200, {});
  for (const c of chunks) call.onResponseData(controller, c);
  call.onResponseEnd();
  return call;
}
