// Prometheus metrics (prom-client): reconciles by result and duration, queue depth and
// in-flight reconciles, current step and phase per TfeCluster, nodes per TfeCluster, step
// durations, AWS calls by operation and outcome, leader status, watch restarts.
//
// Per-TfeCluster series carry the label tfecluster="<namespace>/<name>", the same value as
// the `tfecluster` field of the JSON logs, so a graph and a log query join on it.

import client from 'prom-client';

export const STEP_VALUES = ['Validate', 'Redis', 'SingleNode', 'ScaleOut', 'Done', 'Upgrade', 'Scale', 'Rollback'] as const;

export class Metrics {
  readonly registry = new client.Registry();
  private readonly reconciles = new client.Counter({ name: 'tfe_operator_reconcile_total', help: 'Reconciles by result', labelNames: ['result'], registers: [this.registry] });
  private readonly reconcileSeconds = new client.Histogram({
    name: 'tfe_operator_reconcile_duration_seconds',
    help: 'Reconcile duration by result',
    labelNames: ['result'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private queueView?: { readonly depth: number; readonly inFlight: number };
  readonly queueDepth = new client.Gauge({
    name: 'tfe_operator_queue_depth',
    help: 'TfeCluster keys waiting in the work queue (not counting running ones or ones waiting for a requeue timer)',
    registers: [this.registry],
    collect: () => {
      if (this.queueView) this.queueDepth.set(this.queueView.depth);
    },
  });
  readonly inFlight = new client.Gauge({
    name: 'tfe_operator_reconciles_in_flight',
    help: 'Reconciles running now',
    registers: [this.registry],
    collect: () => {
      if (this.queueView) this.inFlight.set(this.queueView.inFlight);
    },
  });
  private readonly nodes = new client.Gauge({
    name: 'tfe_operator_cluster_nodes',
    help: 'TFE nodes per TfeCluster: desired (spec.nodes) and ready (healthy)',
    labelNames: ['tfecluster', 'state'],
    registers: [this.registry],
  });
  private readonly step = new client.Gauge({
    name: 'tfe_operator_cluster_step',
    help: 'Current step per TfeCluster (1 for the current step and phase)',
    labelNames: ['tfecluster', 'step', 'phase'],
    registers: [this.registry],
  });
  private readonly stepSeconds = new client.Histogram({
    name: 'tfe_operator_step_duration_seconds',
    help: 'How long each step took',
    labelNames: ['step'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
    registers: [this.registry],
  });
  private readonly awsCalls = new client.Counter({
    name: 'tfe_operator_aws_calls_total',
    help: 'AWS API calls by service, operation and outcome',
    labelNames: ['service', 'operation', 'outcome'],
    registers: [this.registry],
  });
  readonly leader = new client.Gauge({ name: 'tfe_operator_leader', help: '1 when this replica leads (acts on TfeClusters)', registers: [this.registry] });
  private readonly watchRestarts = new client.Counter({
    name: 'tfe_operator_watch_restarts_total',
    help: 'TfeCluster watch restarts by reason (error: the watch broke; relist: periodic resync)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly current = new Map<string, { step: string; phase: string; since: number }>();

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
    // Series that exist from the start, so rate() and alerts see 0 rather than nothing.
    for (const result of ['ok', 'error', 'conflict']) this.reconciles.inc({ result }, 0);
    for (const reason of ['error', 'relist']) this.watchRestarts.inc({ reason }, 0);
  }

  /** Read queue depth and in-flight reconciles from the queue at each scrape. */
  bindQueue(view: { readonly depth: number; readonly inFlight: number }) {
    this.queueView = view;
  }

  watchRestarted(reason: 'error' | 'relist') {
    this.watchRestarts.inc({ reason });
  }

  clusterNodes(key: string, desired: number, ready: number) {
    this.nodes.set({ tfecluster: key, state: 'desired' }, desired);
    this.nodes.set({ tfecluster: key, state: 'ready' }, ready);
  }

  reconciled(_key: string, result: string, ms: number) {
    this.reconciles.inc({ result });
    this.reconcileSeconds.observe({ result }, ms / 1000);
  }

  awsCall(service: string, operation: string, outcome: string) {
    this.awsCalls.inc({ service, operation, outcome });
  }

  clusterAt(key: string, step: string, phase: string, now = Date.now()) {
    const prev = this.current.get(key);
    if (prev && prev.step === step && prev.phase === phase) return;
    if (prev) {
      this.step.remove({ tfecluster: key, step: prev.step, phase: prev.phase });
      if (prev.step !== step) this.stepSeconds.observe({ step: prev.step }, (now - prev.since) / 1000);
    }
    this.step.set({ tfecluster: key, step, phase }, 1);
    this.current.set(key, { step, phase, since: prev && prev.step === step ? prev.since : now });
  }

  forget(key: string) {
    const prev = this.current.get(key);
    if (prev) this.step.remove({ tfecluster: key, step: prev.step, phase: prev.phase });
    this.nodes.remove({ tfecluster: key, state: 'desired' });
    this.nodes.remove({ tfecluster: key, state: 'ready' });
    this.current.delete(key);
  }

  /** Leadership lost: per-TfeCluster series would go stale on this replica; the leader exports them. */
  forgetAll() {
    for (const key of [...this.current.keys()]) this.forget(key);
  }
}
