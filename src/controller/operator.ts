// The operator's work loop: the TfeCluster watch feeds the work queue; the queue runs one
// reconcile per key. Followers keep the watch cache warm with the queue paused; a new leader
// first runs every TfeCluster once through.

import type { TfeCluster } from '../api/types.ts';
import { makeAwsClients, type AwsClients } from '../aws/clients.ts';
import type { Kube } from '../kube/client.ts';
import { eventEmitter } from '../kube/events.ts';
import type { Logger } from '../log.ts';
import type { Plan } from '../migration/planner.ts';
import { ClusterWatch } from './informer.ts';
import { Metrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { DEFAULT_RESYNC_RATE, resyncDelayMs } from './resync.ts';
import { reconcileKey } from './reconciler.ts';
import { isNotLeaderError } from '../ha/fence.ts';
import { stsName } from '../security/policy.ts';
import type { SecurityOptions } from '../security/index.ts';
import { contentHash } from '../migration/targets.ts';

export interface OperatorOptions {
  kube: Kube;
  log: Logger;
  identity: string;
  namespace?: string;
  workers?: number;
  resyncMs?: number;
  /** At most this many re-observations of settled clusters per second, in total (resync.ts). */
  resyncRate?: number;
  relistMs?: number;
  /** Throws when this instance must not write; default: always allowed (single instance). */
  fence?: () => void;
  /**
   * Runs one reconcile bound to the current leadership term (TermFence.run), so that `fence`
   * refuses its writes once that term ended, even if this replica leads again by then.
   * Throws NotLeaderError when not leading; the reconcile is then dropped (a new term runs
   * every TfeCluster once through anyway).
   */
  inTerm?: <T>(fn: () => Promise<T>) => Promise<T>;
  metrics?: Metrics;
  crashAfter?: string;
  /** The policy, the Secrets opt-in and the fingerprint key (src/security/). */
  security: SecurityOptions;
}

export interface ClusterSummary {
  name: string;
  namespace: string;
  generation?: number;
  observedGeneration?: number;
  phase?: string;
  step?: string;
  message?: string;
  nodes?: { desired: number; ready: number };
  nextAction?: string;
}

export class Operator {
  readonly metrics: Metrics;
  readonly queue: WorkQueue;
  readonly watch: ClusterWatch;
  private readonly awsCache = new Map<string, AwsClients>();
  private readonly summaries = new Map<string, ClusterSummary>();
  private leading: boolean;

  constructor(private readonly opts: OperatorOptions) {
    this.metrics = opts.metrics ?? new Metrics();
    const fence = opts.fence ?? (() => {});
    this.leading = !opts.fence;
    const emit = eventEmitter(opts.kube, 'tfe-operator', opts.identity);
    const inTerm = opts.inTerm ?? ((fn) => fn());
    this.queue = new WorkQueue(
      (key) =>
        inTerm(() => reconcileKey(
          {
            kube: opts.kube,
            awsFor: (c, externalId) => this.awsFor(c, externalId),
            security: opts.security,
            fence,
            log: opts.log,
            metrics: this.metrics,
            crashAfter: opts.crashAfter,
            resyncDelayMs: () => resyncDelayMs(opts.resyncMs ?? 60_000, this.watch.size, opts.resyncRate ?? DEFAULT_RESYNC_RATE),
            emit,
            onPlan: (k, c, p) => this.onPlan(k, c, p),
          },
          key,
        )).catch((err) => {
          // Not leading when the key came up (the term ended between dequeue and start).
          if (isNotLeaderError(err)) return {};
          throw err;
        }),
      {
        workers: opts.workers ?? 4,
        onDepth: (d) => this.metrics.queueDepth.set(d),
        onError: (key, err, retry) => opts.log.warn({ tfecluster: key, err: (err as Error)?.message, retryInMs: retry }, 'reconcile error; backing off'),
      },
    );
    this.metrics.bindQueue(this.queue);
    if (!this.leading) this.queue.pause();
    this.watch = new ClusterWatch(opts.kube.config, {
      namespace: opts.namespace,
      relistMs: opts.relistMs,
      log: opts.log,
      onSynced: () => opts.log.info({ namespace: opts.namespace ?? 'all' }, 'watch cache synced: ready'),
      onRestart: (reason) => this.metrics.watchRestarted(reason),
      onChange: (key, obj) => {
        if (!obj) {
          this.summaries.delete(key);
          this.metrics.forget(key);
          this.queue.forget(key);
          return;
        }
        this.queue.add(key);
      },
    });
  }

  /** AWS clients per region/role, shared by clusters, instrumented with the fence and metrics. */
  private awsFor(cluster: TfeCluster, externalId?: string): AwsClients {
    const { region, roleArn } = cluster.spec.aws;
    // With a role, one session per TfeCluster: its name and SourceIdentity name the TfeCluster.
    const sessionName = roleArn ? stsName(cluster.metadata.namespace!, cluster.metadata.name!, contentHash) : undefined;
    const key = `${region}|${roleArn ?? ''}|${sessionName ?? ''}|${externalId ?? ''}`;
    let c = this.awsCache.get(key);
    if (!c) {
      c = makeAwsClients(
        { region, roleArn, ...(sessionName ? { sessionName } : {}), ...(externalId ? { externalId } : {}) },
        {
          beforeMutation: this.opts.fence,
          onCall: (service, op, outcome) => this.metrics.awsCall(service, op, outcome),
        },
        `tfe-operator/${this.opts.identity}`,
      );
      this.awsCache.set(key, c);
    }
    return c;
  }

  private onPlan(key: string, cluster: TfeCluster, p: Plan) {
    this.metrics.clusterAt(key, p.step, p.phase);
    this.metrics.clusterNodes(key, p.nodes.desired, p.nodes.ready);
    this.summaries.set(key, {
      name: cluster.metadata.name!,
      namespace: cluster.metadata.namespace!,
      generation: cluster.metadata.generation,
      observedGeneration: cluster.metadata.generation,
      phase: p.phase,
      step: p.step,
      message: p.message,
      nodes: { desired: p.nodes.desired, ready: p.nodes.ready },
      nextAction: p.action?.kind,
    });
  }

  get synced(): boolean {
    return this.watch.synced;
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  /** Leadership gained: run every TfeCluster once through, then carry on. */
  startLeading(): void {
    this.leading = true;
    this.metrics.leader.set(1);
    this.opts.log.info('ctrl: executing all tasks once through');
    for (const c of this.watch.list()) this.queue.add(`${c.metadata.namespace}/${c.metadata.name}`);
    this.queue.resume();
  }

  /** Leadership lost: stop taking work; in-flight reconciles hit the fence at their next write. */
  stopLeading(): void {
    this.leading = false;
    this.metrics.leader.set(0);
    this.metrics.forgetAll();
    this.queue.pause();
  }

  /** What /v1/status answers: every watched TfeCluster, or those of one namespace. */
  status(q: { namespace?: string } = {}): { leader: boolean; clusters: ClusterSummary[] } {
    const clusters = this.watch.list().filter((c) => !q.namespace || c.metadata.namespace === q.namespace).map((c) => {
      const key = `${c.metadata.namespace}/${c.metadata.name}`;
      return {
        ...this.summaries.get(key),
        name: c.metadata.name!,
        namespace: c.metadata.namespace!,
        generation: c.metadata.generation,
        observedGeneration: c.status?.observedGeneration,
        phase: c.status?.phase ?? this.summaries.get(key)?.phase,
        step: c.status?.step ?? this.summaries.get(key)?.step,
        message: c.status?.message,
        nodes: c.status?.nodes ? { desired: c.status.nodes.desired ?? 0, ready: c.status.nodes.ready ?? 0 } : undefined,
      };
    });
    return { leader: this.leading, clusters };
  }

  async stop(): Promise<void> {
    this.queue.pause();
    await this.queue.shutdown();
    await this.watch.stop();
  }
}
