// The fence with terms: work is bound to the leadership term it started in, and every
// mutating call checks "this replica leads now, in that same term".
//
// Why the term matters: a reconcile that observed the world in term 1 must not act in
// term 2. Between the two terms another replica may have led and changed the world, so the
// observation is stale and its action could be a duplicate (a second launch template
// version, a second scale-in). `assertLeader()` alone would let it through.
//
// The term travels with the work through AsyncLocalStorage, so the AWS SDK middleware (one
// set of clients shared by all reconciles) fences each call with the term of the reconcile
// that made it, without threading a parameter through every adapter.

import { AsyncLocalStorage } from 'node:async_hooks';
import { NotLeaderError } from './leader.ts';

/** What the fence needs from the elector (LeaderElector satisfies it). */
export interface TermSource {
  currentTerm(): number | undefined;
  assertLeader(term?: number): void;
}

export class TermFence {
  private readonly als = new AsyncLocalStorage<number>();

  constructor(private readonly elector: TermSource) {}

  /** The term the calling work was started in (undefined outside `run`). */
  get term(): number | undefined {
    return this.als.getStore();
  }

  /**
   * Runs `fn` bound to the current term. Rejects with NotLeaderError (without running `fn`)
   * when this replica does not lead.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const term = this.elector.currentTerm();
    if (term === undefined) {
      try {
        this.elector.assertLeader(); // throws NotLeaderError naming who leads instead
      } catch (err) {
        return Promise.reject(err);
      }
      return Promise.reject(new NotLeaderError('this replica', undefined, 'not leading'));
    }
    return this.als.run(term, fn);
  }

  /** The check before every mutating call: leads now, and (inside `run`) in the same term. */
  readonly check = (): void => {
    this.elector.assertLeader(this.als.getStore());
  };
}

/** True for the fence's refusal (also across module copies: matched by name). */
export function isNotLeaderError(err: unknown): boolean {
  return err instanceof NotLeaderError || (err instanceof Error && err.name === 'NotLeaderError');
}
