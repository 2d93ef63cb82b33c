import { PipelineError } from './errors.ts';

/**
 * The one composition primitive. A stage does its job and either answers (marks the context settled) or calls
 * `next()` once to hand over to the following stage. Guarded like Hono's compose: calling next() twice, or finishing
 * without answering and without calling next(), is a bug in that stage and fails loudly with its name.
 */
type Next = () => Promise<void>;

export interface Settles {
  /** True once a response (or the start of one) has been written for this request. */
  readonly settled: boolean;
  /** Aborted when the client went away: a stage that stops then has nobody to answer, and that is no bug. */
  readonly clientGone?: AbortSignal;
}

export interface Stage<C extends Settles> {
  readonly name: string;
  run(ctx: C, next: Next): Promise<void>;
}

export type Handler<C> = (ctx: C) => Promise<void>;

export function compose<C extends Settles>(stages: readonly Stage<C>[]): Handler<C> {
  const names = stages.map((s) => s.name);
  return function run(ctx: C): Promise<void> {
    let reached = -1;
    const dispatch = (i: number): Promise<void> => {
      if (i <= reached)
        return Promise.reject(new PipelineError(`stage "${names[i - 1] ?? '?'}" called next() more than once`));
      reached = i;
      const stage = stages[i];
      if (stage === undefined) {
        return Promise.reject(
          new PipelineError(`stage "${names[i - 1] ?? '?'}" called next() but it is the last stage`),
        );
      }
      let calledNext = false;
      let done: Promise<void>;
      try {
        done = stage.run(ctx, () => {
          calledNext = true;
          return dispatch(i + 1);
        });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err))); // thrown before its first await
      }
      // A stage that handed over before returning (the usual case: its work before `await next()` is synchronous)
      // cannot have forgotten to: its promise goes back as it is, with no wrapper left suspended per stage for as
      // long as the request lasts (thousands of open streams) and no extra hop when it ends.
      if (calledNext) return done;
      return done.then(() => {
        if (!calledNext && !ctx.settled && ctx.clientGone?.aborted !== true) {
          throw new PipelineError(
            `stage "${stage.name}" finished without answering the request and without calling next()`,
          );
        }
      });
    };
    return dispatch(0);
  };
}
