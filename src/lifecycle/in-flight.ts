/** Counts the requests inside one runtime's pipeline, so a replaced runtime is closed only once they are done. */
export class InFlight {
  private n = 0;
  private idleWaiters: (() => void)[] = [];

  get count(): number {
    return this.n;
  }

  enter(): void {
    this.n++;
  }

  /** A bound function: it is passed to `finally` once per request. */
  readonly leave = (): void => {
    if (--this.n === 0) for (const w of this.idleWaiters.splice(0)) w();
  };

  /** Resolves once no request is inside any more. */
  idle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** On close: nobody waits for requests that the close cut. */
  forgetWaiters(): void {
    this.idleWaiters = [];
  }
}
