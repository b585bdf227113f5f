// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
//
// - Every retry period each replica reads the Lease. A follower takes it only when it is
//   free (empty holder) or expired, and expiry is judged from LOCAL observation: the
//   moment this process last saw the lease record change, plus the record's
//   leaseDurationSeconds. Timestamps written by other clocks are never compared with ours.
// - Writes are optimistic: replace with the resourceVersion that was read; a 409 means
//   another replica won the race.
// - The leader renews every retry period. Its leadership is valid until
//   (send time of its last successful write) + renewDeadline. It stops leading at that
//   moment even if a request is still hanging, which is strictly before any follower can
//   see the lease expire (followers wait leaseDuration > renewDeadline from a change they
//   observed, and they can only observe it after it was written).
// - `isLeader()` re-checks that deadline on every call, so the fence holds even when the
//   event loop was too busy for the deadline timer to fire.
// - `stop({ release: true })` writes holderIdentity "" / leaseDurationSeconds 1, so a
//   follower takes over on its next attempt.

import { EventEmitter } from 'node:events';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { leaderLeaseName, type HaConfig } from './config.ts';
import {
  describeError,
  haLogger,
  httpStatus,
  microTime,
  monotonicNow,
  sleep,
  timeKey,
  withDeadline,
  type LeaseApi,
} from './kube.ts';

/** Annotation on the leader Lease carrying the leader's status API address. */
export const LEADER_ADDRESS_ANNOTATION = 'tfe.operators.dev/leader-address';

export interface LeaderInfo {
  id: string;
  address: string;
}

/** Thrown by `assertLeader()`: this replica must not mutate anything. */
export class NotLeaderError extends Error {
  readonly identity: string;
  readonly leader: LeaderInfo | undefined;
  constructor(identity: string, leader: LeaderInfo | undefined, detail?: string) {
    super(
      `${identity} is not the leader` +
        (detail ? ` (${detail})` : '') +
        (leader ? `; the leader is ${leader.id} at ${leader.address}` : '; no leader is known'),
    );
    this.name = 'NotLeaderError';
    this.identity = identity;
    this.leader = leader;
  }
}

/** One period of leadership, handed to `startedLeading` listeners. */
export interface LeadershipTerm {
  /** Increases by one each time this process acquires leadership. */
  readonly term: number;
  /** Aborted the moment this term ends (lost, stopped or released). Pass it to the work loop. */
  readonly signal: AbortSignal;
  readonly acquiredAt: Date;
}

export interface StoppedLeading {
  readonly term: number;
  /** Human-readable reason: renew deadline exceeded, lease taken by X, stopped ... */
  readonly reason: string;
}

export interface LeaderElectorEvents {
  startedLeading: [LeadershipTerm];
  stoppedLeading: [StoppedLeading];
  /** The observed holder changed (including to this replica). */
  newLeader: [LeaderInfo];
}

export interface LeaderElectorOptions {
  api: LeaseApi;
  config: HaConfig;
  logger?: Logger;
  /** After losing leadership, keep competing for it (default true). */
  reacquire?: boolean;
  onStartedLeading?: (term: LeadershipTerm) => void;
  onStoppedLeading?: (info: StoppedLeading) => void;
  onNewLeader?: (leader: LeaderInfo) => void;
}

interface Observed {
  key: string;
  holder: string;
  address: string;
  durationMs: number;
  /** Monotonic time at which this process first saw this record. */
  at: number;
  transitions: number;
}

type Attempt =
  | { kind: 'leading'; sentAt: number }
  | { kind: 'follower' }
  | { kind: 'lost'; reason: string }
  | { kind: 'error'; error: unknown };

export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  readonly identity: string;
  readonly address: string;
  readonly leaseName: string;
  readonly namespace: string;
  private readonly api: LeaseApi;
  private readonly cfg: HaConfig;
  private readonly log: Logger;
  private readonly reacquire: boolean;

  private running = false;
  private stopAc = new AbortController();
  private loop: Promise<void> | undefined;

  private leading = false;
  private leadingUntil = 0; // monotonic ms
  private term = 0;
  private termAc: AbortController | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  private observed: Observed | undefined;
  /** The Lease as returned by this replica's last successful write while leading. */
  private ownLease: V1Lease | undefined;
  private lastLeaderId: string | undefined;
  private lastErrorLogged = '';

  constructor(opts: LeaderElectorOptions) {
    super();
    this.api = opts.api;
    this.cfg = opts.config;
    this.identity = opts.config.identity;
    this.address = opts.config.address;
    this.namespace = opts.config.namespace;
    this.leaseName = leaderLeaseName(opts.config);
    this.reacquire = opts.reacquire ?? true;
    this.log = haLogger(opts.logger, opts.config.identity);
    if (opts.onStartedLeading) this.on('startedLeading', opts.onStartedLeading);
    if (opts.onStoppedLeading) this.on('stoppedLeading', opts.onStoppedLeading);
    if (opts.onNewLeader) this.on('newLeader', opts.onNewLeader);
  }

  get lockPath(): string {
    return `${this.namespace}/${this.leaseName}`;
  }

  /** Starts competing for leadership in the background. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopAc = new AbortController();
    this.loop = this.run().catch((err) => {
      this.log.error({ err: describeError(err) }, 'ha: election loop failed');
    });
  }

  /**
   * Stops competing. If leading, the term ends first (fence closed, signal aborted,
   * `stoppedLeading` fired), then, with `release`, the Lease is handed back so a
   * follower takes over on its next attempt instead of waiting for expiry.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (this.running) {
      this.running = false;
      this.stopAc.abort();
      this.endTerm(opts.release ? 'released on shutdown' : 'elector stopped', false);
      await this.loop;
      this.loop = undefined;
    }
    if (opts.release) await this.release();
  }

  /** True while this replica holds the lock and its last renewal is within the renew deadline. */
  isLeader(): boolean {
    return this.leading && monotonicNow() < this.leadingUntil;
  }

  /** The current leadership term number, or undefined when not leading. */
  currentTerm(): number | undefined {
    return this.isLeader() ? this.term : undefined;
  }

  /**
   * The fence: call immediately before every mutating action. Throws NotLeaderError
   * unless this replica leads now, and, if `term` is given, still in that same term
   * (work started in an earlier term must not continue after losing and re-acquiring).
   */
  assertLeader(term?: number): void {
    if (!this.isLeader()) {
      throw new NotLeaderError(this.identity, this.currentLeader(), this.leading ? 'renew deadline passed' : undefined);
    }
    if (term !== undefined && term !== this.term) {
      throw new NotLeaderError(this.identity, this.currentLeader(), `term ${term} ended; current term is ${this.term}`);
    }
  }

  /** Who leads, as far as this replica knows (undefined when nobody holds a live lease). */
  currentLeader(): LeaderInfo | undefined {
    if (this.isLeader()) return { id: this.identity, address: this.address };
    const o = this.observed;
    if (!o || o.holder === '' || o.holder === this.identity) return undefined;
    if (monotonicNow() >= o.at + o.durationMs) return undefined;
    return { id: o.holder, address: o.address };
  }

  // ---------------------------------------------------------------- loop

  private async run(): Promise<void> {
    const stop = this.stopAc.signal;
    const firstTerm = this.term;
    let announcedAfterTerm = -1;
    while (this.running) {
      if (!this.leading) {
        // A term of this run ended (lost while renewing or while waiting between renewals).
        if (!this.reacquire && this.term > firstTerm) {
          this.running = false;
          break;
        }
        if (announcedAfterTerm !== this.term) {
          this.log.info({ lock_path: this.lockPath }, 'ha: attempting to acquire leadership lock');
          announcedAfterTerm = this.term;
        }
      }
      const started = monotonicNow();
      const wasLeading = this.leading;
      const term = this.term;
      const budget = wasLeading ? this.leadingUntil - started : this.cfg.renewDeadlineMs;
      const result = budget > 0 ? await this.tryAcquireOrRenew(budget, stop) : ({ kind: 'error', error: new Error('renew deadline passed') } as Attempt);
      if (!this.running) break;

      if (wasLeading) {
        if (!this.leading || this.term !== term) {
          // The deadline timer ended the term while the attempt was in flight: ignore its result.
        } else if (result.kind === 'leading') {
          this.extendTerm(result.sentAt);
        } else if (result.kind === 'lost') {
          this.endTerm(result.reason, true);
        } else if (result.kind === 'error') {
          this.logAttemptError('renew', result.error);
          if (!this.isLeader()) this.endTerm(this.deadlineReason(), true);
        } else {
          // 'follower' while leading: the record names someone else and is live.
          this.endTerm('lease is held by another replica', true);
        }
      } else if (result.kind === 'leading') {
        this.beginTerm(result.sentAt);
      } else if (result.kind === 'error') {
        this.logAttemptError('acquire', result.error);
      }

      // Leaders renew on a fixed period; candidates add up to 20% jitter to avoid stampedes.
      const period = this.leading ? this.cfg.retryPeriodMs : this.cfg.retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(Math.max(0, started + period - monotonicNow()), stop);
    }
  }

  private logAttemptError(what: string, err: unknown): void {
    const msg = describeError(err);
    // Log each distinct failure once per streak, not every retry period.
    if (msg !== this.lastErrorLogged) {
      this.lastErrorLogged = msg;
      this.log.warn({ lock_path: this.lockPath, err: msg }, `ha: failed to ${what} leadership lock`);
    }
  }

  private deadlineReason(): string {
    return `could not renew within the renew deadline (${this.cfg.renewDeadlineMs}ms)`;
  }

  // ---------------------------------------------------------------- one attempt

  private async tryAcquireOrRenew(budgetMs: number, stop: AbortSignal): Promise<Attempt> {
    const deadlineAt = monotonicNow() + budgetMs;
    const remaining = () => deadlineAt - monotonicNow();
    const ref = { name: this.leaseName, namespace: this.namespace };

    // Fast renewal: replace our own last write directly (one request instead of two). It is
    // conditional on that write's resourceVersion, so any other writer in between makes it
    // fail with 409, and we fall back to reading the Lease.
    const own = this.leading ? this.ownLease : undefined;
    this.ownLease = undefined;
    if (own) {
      const sentAt = monotonicNow();
      try {
        const updated = await withDeadline(
          remaining(),
          (o) => this.api.replaceNamespacedLease({ ...ref, body: this.newLease(own) }, o),
          stop,
        );
        this.observe(updated, monotonicNow());
        this.ownLease = updated;
        this.lastErrorLogged = '';
        return { kind: 'leading', sentAt };
      } catch (err) {
        const code = httpStatus(err);
        if (code === 404) return { kind: 'lost', reason: 'lease was deleted' };
        if (code !== 409) return { kind: 'error', error: err };
      }
    }

    let lease: V1Lease;
    try {
      lease = await withDeadline(remaining(), (o) => this.api.readNamespacedLease(ref, o), stop);
    } catch (err) {
      if (httpStatus(err) !== 404) return { kind: 'error', error: err };
      if (this.leading) return { kind: 'lost', reason: 'lease was deleted' };
      const sentAt = monotonicNow();
      try {
        const created = await withDeadline(
          remaining(),
          (o) => this.api.createNamespacedLease({ namespace: this.namespace, body: this.newLease(undefined) }, o),
          stop,
        );
        this.observe(created, monotonicNow());
        this.ownLease = created;
        this.lastErrorLogged = '';
        return { kind: 'leading', sentAt };
      } catch (err2) {
        if (httpStatus(err2) === 409) return { kind: 'follower' }; // another replica created it first
        return { kind: 'error', error: err2 };
      }
    }

    const now = monotonicNow();
    this.observe(lease, now);
    const o = this.observed!;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.identity) {
      if (this.leading) return { kind: 'lost', reason: holder ? `lease taken by ${holder}` : 'lease was released' };
      if (holder !== '' && now < o.at + o.durationMs) return { kind: 'follower' };
    }

    const sentAt = monotonicNow();
    try {
      const updated = await withDeadline(
        remaining(),
        (o2) =>
          this.api.replaceNamespacedLease({ ...ref, body: this.newLease(lease) }, o2),
        stop,
      );
      this.observe(updated, monotonicNow());
      this.ownLease = updated;
      this.lastErrorLogged = '';
      return { kind: 'leading', sentAt };
    } catch (err) {
      if (httpStatus(err) === 409) {
        // Lost the optimistic race (resourceVersion changed since the read).
        return this.leading ? { kind: 'error', error: err } : { kind: 'follower' };
      }
      return { kind: 'error', error: err };
    }
  }

  /** The Lease this replica writes to acquire or renew, based on the one it read. */
  private newLease(current: V1Lease | undefined): V1Lease {
    const now = microTime();
    const spec = current?.spec ?? {};
    const mine = spec.holderIdentity === this.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(current?.metadata ?? {}),
        name: this.leaseName,
        namespace: this.namespace,
        annotations: { ...(current?.metadata?.annotations ?? {}), [LEADER_ADDRESS_ANNOTATION]: this.address },
        // resourceVersion stays as read: the replace is conditional on it.
      },
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : current ? (spec.leaseTransitions ?? 0) + 1 : 0,
      },
    };
  }

  /** Records the lease as observed now if its record changed; fires newLeader on holder change. */
  private observe(lease: V1Lease, now: number): void {
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const address = lease.metadata?.annotations?.[LEADER_ADDRESS_ANNOTATION] ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.cfg.leaseDurationMs / 1000)) * 1000;
    const key = JSON.stringify([
      holder,
      spec.leaseDurationSeconds,
      timeKey(spec.acquireTime),
      timeKey(spec.renewTime),
      spec.leaseTransitions,
      address,
    ]);
    if (this.observed?.key !== key) {
      this.observed = { key, holder, address, durationMs, at: now, transitions: spec.leaseTransitions ?? 0 };
    }
    if (holder !== '' && holder !== this.lastLeaderId) {
      this.lastLeaderId = holder;
      if (holder !== this.identity) {
        this.log.info({ leader: holder, address }, 'ha: new leader observed');
      }
      this.safeEmit('newLeader', { id: holder, address });
    }
  }

  // ---------------------------------------------------------------- terms

  private beginTerm(sentAt: number): void {
    this.term += 1;
    this.leading = true;
    this.termAc = new AbortController();
    this.extendTerm(sentAt);
    this.log.info({ lock_path: this.lockPath, term: this.term }, 'ha: acquired leadership lock');
    this.safeEmit('startedLeading', { term: this.term, signal: this.termAc.signal, acquiredAt: new Date() });
  }

  private extendTerm(sentAt: number): void {
    this.leadingUntil = sentAt + this.cfg.renewDeadlineMs;
    this.armDeadline();
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const wait = this.leadingUntil - monotonicNow();
    this.deadlineTimer = setTimeout(() => {
      if (!this.leading) return;
      if (monotonicNow() >= this.leadingUntil) this.endTerm(this.deadlineReason(), true);
      else this.armDeadline();
    }, Math.max(0, Math.ceil(wait)));
  }

  /** Ends the current term, if any: closes the fence, aborts its signal, fires stoppedLeading. */
  private endTerm(reason: string, involuntary: boolean): void {
    if (!this.leading) return;
    this.leading = false;
    this.leadingUntil = 0;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.termAc?.abort(new NotLeaderError(this.identity, undefined, reason));
    if (involuntary) {
      this.log.warn({ lock_path: this.lockPath, term: this.term, reason }, 'ha: lost leadership lock');
    } else {
      this.log.info({ lock_path: this.lockPath, term: this.term, reason }, 'ha: stopped leading');
    }
    this.safeEmit('stoppedLeading', { term: this.term, reason });
  }

  private safeEmit<K extends keyof LeaderElectorEvents>(event: K, ...args: LeaderElectorEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: LeaderElectorEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ event, err: describeError(err) }, 'ha: event listener threw');
    }
  }

  // ---------------------------------------------------------------- release

  /**
   * Hands the Lease back (holder "", leaseDurationSeconds 1) if the record still names this
   * replica. Only call after the work loop has stopped; `stop({ release: true })` does this.
   * Returns true when released.
   */
  private async release(): Promise<boolean> {
    const ref = { name: this.leaseName, namespace: this.namespace };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const lease = await withDeadline(this.cfg.renewDeadlineMs, (o) => this.api.readNamespacedLease(ref, o));
        if ((lease.spec?.holderIdentity ?? '') !== this.identity) return false;
        const now = microTime();
        const annotations = { ...(lease.metadata?.annotations ?? {}) };
        delete annotations[LEADER_ADDRESS_ANNOTATION];
        const body: V1Lease = {
          ...lease,
          metadata: { ...lease.metadata, annotations },
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        };
        await withDeadline(this.cfg.renewDeadlineMs, (o) => this.api.replaceNamespacedLease({ ...ref, body }, o));
        this.log.info({ lock_path: this.lockPath }, 'ha: released leadership lock');
        return true;
      } catch (err) {
        const code = httpStatus(err);
        if (code === 404) return false;
        if (code === 409) continue;
        this.log.warn({ lock_path: this.lockPath, err: describeError(err) }, 'ha: failed to release leadership lock');
        return false;
      }
    }
    return false;
  }
}
