// A work queue keyed by "namespace/name": de-duplicates keys, runs one reconcile per key at a
// time (a key queued while it runs is run once more afterwards), backs off exponentially on
// errors, and supports requeue-after for waits. Two lanes: changes, errors and waits of a
// migration in progress go first; periodic re-observations of settled clusters (`background`)
// only run when nothing else waits, so with 1000 clusters and a resync backlog a spec change
// is still picked up by the next free worker.

export interface ReconcileResult {
  /** Run again after this many ms (a wait); undefined: only on the next change. */
  requeueAfterMs?: number;
  /** The requeue is a periodic re-observation: it yields to every other key. */
  background?: boolean;
}

type Lane = 'urgent' | 'background';

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface QueueOptions {
  workers?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly pending = new Map<string, Lane>();
  private readonly lanes: Record<Lane, string[]> = { urgent: [], background: [] };
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private active = 0;
  private stopped = false;
  private paused = false;
  private idleWaiters: Array<() => void> = [];
  private readonly workers: number;
  private readonly base: number;
  private readonly max: number;

  constructor(
    private readonly reconcile: Reconciler,
    private readonly opts: QueueOptions = {},
  ) {
    this.workers = opts.workers ?? 4;
    this.base = opts.baseBackoffMs ?? 500;
    this.max = opts.maxBackoffMs ?? 60_000;
  }

  add(key: string, lane: Lane = 'urgent'): void {
    if (this.stopped) return;
    this.clearTimer(key);
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    const queued = this.pending.get(key);
    if (queued === 'background' && lane === 'urgent') {
      // Already waiting behind the resyncs: move it up.
      this.lanes.background.splice(this.lanes.background.indexOf(key), 1);
    } else if (queued !== undefined) {
      this.pump();
      return;
    }
    this.pending.set(key, lane);
    this.lanes[lane].push(key);
    this.opts.onDepth?.(this.pending.size);
    this.pump();
  }

  /** Add after a delay (an earlier pending timer for the key is kept if sooner). */
  addAfter(key: string, ms: number, lane: Lane = 'urgent'): void {
    if (this.stopped) return;
    const existing = this.timers.get(key) as (NodeJS.Timeout & { due?: number }) | undefined;
    const due = Date.now() + ms;
    if (existing && existing.due !== undefined && existing.due <= due) return;
    this.clearTimer(key);
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key, lane);
    }, ms) as NodeJS.Timeout & { due?: number };
    t.due = due;
    t.unref?.();
    this.timers.set(key, t);
  }

  forget(key: string): void {
    this.clearTimer(key);
    this.failures.delete(key);
  }

  get depth(): number {
    return this.pending.size;
  }

  /** Reconciles running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Stop taking work (followers): queued keys stay queued until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Resolves when nothing runs (in-flight reconciles finished). */
  async drain(): Promise<void> {
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.drain();
  }

  private clearTimer(key: string) {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private pump(): void {
    while (!this.stopped && !this.paused && this.active < this.workers && this.pending.size > 0) {
      const key = (this.lanes.urgent.length ? this.lanes.urgent : this.lanes.background).shift()!;
      this.pending.delete(key);
      this.opts.onDepth?.(this.pending.size);
      this.running.add(key);
      this.active++;
      void this.runOne(key);
    }
  }

  private async runOne(key: string): Promise<void> {
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs, result.background ? 'background' : 'urgent');
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.max, this.base * 2 ** (n - 1));
      this.opts.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.active === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((w) => w());
      }
      this.pump();
    }
  }
}
