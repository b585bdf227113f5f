// One reconcile of one TfeCluster: observe -> plan -> act -> record. Deletion and the
// finalizer are handled here too. Every write is fenced (this instance must still lead).

import { FINALIZER, type Condition, type TfeCluster, type TfeClusterStatus } from '../api/types.ts';
import type { AwsClients } from '../aws/clients.ts';
import { getCluster, isConflict, patchCluster, patchClusterStatus, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { describeAction } from '../migration/actions.ts';
import { isTerminalTfeError } from '../tfe/runs.ts';
import { earlierRefusal, gatePlan, plan, refusalMessage, refusedPlan, type Plan } from '../migration/planner.ts';
import { awsErrorText, isTerminalAwsError } from '../aws/errors.ts';
import { act } from './act.ts';
import { observe, readInputs } from './observe.ts';
import { policyDecision, type SecurityOptions } from '../security/index.ts';
import { secretNotAllowedMessage } from '../security/secret-access.ts';
import { buildStatus, eventsFor, statusChanged, statusPatch, type EventSpec } from './record.ts';
import type { ReconcileResult } from './queue.ts';
import { finalize } from './finalize.ts';
import { setConditions } from '../api/conditions.ts';
import { isNotLeaderError } from '../ha/fence.ts';
import type { Metrics } from './metrics.ts';

export interface ReconcilerDeps {
  kube: Kube;
  /** `externalId`: AssumeRole's ExternalId from the operator policy. */
  awsFor: (cluster: TfeCluster, externalId?: string) => AwsClients;
  /** The policy, the Secrets opt-in and the fingerprint key (src/security/). */
  security: SecurityOptions;
  /** Throws when this instance must not write. */
  fence: () => void;
  log: Logger;
  metrics?: Metrics;
  /** Read the object from the watch cache; falls back to the API server. */
  cached?: (namespace: string, name: string) => TfeCluster | undefined;
  /** Test-only: exit the process right after an action of these kinds ('*': any) succeeds (crash/resume tests). */
  crashAfter?: string;
  /** How long until a Ready cluster is re-observed (drift detection); see resync.ts. */
  resyncDelayMs?: () => number;
  emit: (cluster: TfeCluster, event: EventSpec) => Promise<void>;
  /** Called with each plan (status API, metrics). */
  onPlan?: (key: string, cluster: TfeCluster, plan: Plan) => void;
}

export async function reconcileKey(deps: ReconcilerDeps, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/');
  const cluster = (await getCluster(deps.kube, namespace, name)) ?? undefined;
  if (!cluster) return {};
  const log = deps.log.child({ tfecluster: key });
  const started = Date.now();
  try {
    const result = await reconcileCluster(deps, cluster, log);
    deps.metrics?.reconciled(key, 'ok', Date.now() - started);
    log.debug({ durationMs: Date.now() - started, requeueAfterMs: result.requeueAfterMs }, 'reconciled');
    return result;
  } catch (err) {
    if (isNotLeaderError(err)) {
      // The fence refused a write: this replica no longer leads (or leads in a later term than
      // the one this reconcile observed the world in). Drop it; the leader re-observes.
      deps.metrics?.reconciled(key, 'fenced', Date.now() - started);
      log.info({ err: (err as Error).message }, 'fenced: not the leader (any more); dropped this reconcile without writing');
      return {};
    }
    deps.metrics?.reconciled(key, isConflict(err) ? 'conflict' : 'error', Date.now() - started);
    if (isConflict(err)) {
      log.debug('status write conflicted with a newer object; retrying with a fresh read');
      return { requeueAfterMs: 0 };
    }
    log.error({ err: (err as Error).message }, 'reconcile failed');
    throw err;
  }
}

async function reconcileCluster(deps: ReconcilerDeps, cluster: TfeCluster, log: Logger): Promise<ReconcileResult> {
  const { kube } = deps;
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  // The operator policy first: nothing of a TfeCluster it refuses is read or sent anywhere.
  const decision = await policyDecision(kube, deps.security, cluster);
  if (!decision.allowed && (!cluster.metadata.deletionTimestamp || cluster.spec.deletionPolicy === 'Delete')) {
    if (cluster.metadata.deletionTimestamp) return refuseDeletion(deps, cluster, `not deleting AWS resources: ${decision.message}; or set spec.deletionPolicy to Retain`);
    log.warn({ field: decision.field, rule: decision.rule }, decision.message);
    return record(deps, cluster, log, gatePlan(cluster, decision.reason ?? 'NotAllowedByPolicy', decision.message), Date.now());
  }
  const aws = deps.awsFor(cluster, decision.allowed ? decision.externalId : undefined);

  if (cluster.metadata.deletionTimestamp) {
    if (!cluster.metadata.finalizers?.includes(FINALIZER)) return {};
    const done = await finalize({ aws, cluster, log, fence: deps.fence, clusterId: await deps.security.clusterId() });
    if (!done.done) return refuseDeletion(deps, cluster, done.refused);
    deps.fence();
    await patchCluster(kube, ns, name, {
      metadata: { resourceVersion: cluster.metadata.resourceVersion, finalizers: cluster.metadata.finalizers.filter((f) => f !== FINALIZER) },
    });
    log.info({ deletionPolicy: cluster.spec.deletionPolicy ?? 'Retain' }, 'finalizer removed');
    return {};
  }
  if (!cluster.metadata.finalizers?.includes(FINALIZER)) {
    deps.fence();
    cluster = await patchCluster(kube, ns, name, {
      metadata: { resourceVersion: cluster.metadata.resourceVersion, finalizers: [...(cluster.metadata.finalizers ?? []), FINALIZER] },
    });
  }

  // Every Secret the TfeCluster names must allow it, before any value is used and before any AWS call.
  const inputs = await readInputs(kube, cluster, { secretOptIn: deps.security.secretOptIn });
  if (inputs.notAllowed?.length) {
    const message = secretNotAllowedMessage(ns, name, inputs.notAllowed);
    log.warn({ secrets: [...new Set(inputs.notAllowed.map((s) => s.name))] }, 'a referenced Secret does not allow this TfeCluster');
    return record(deps, cluster, log, gatePlan(cluster, 'SecretNotAllowed', message), Date.now());
  }
  const [fingerprintKey, clusterId] = await Promise.all([deps.security.fingerprintKey(), deps.security.clusterId()]);

  const obs = await observe(kube, aws, cluster, Date.now(), inputs);
  let p = plan({ cluster, obs, salt: cluster.metadata.uid ?? name, fingerprintKey, clusterId });

  let actionResult: { kind: string; result: string } | undefined;
  // AWS refused this very action for good under this spec: say so again, do not ask again.
  const refused = p.action && earlierRefusal(cluster, p.action);
  if (refused) p = refusedPlan(p, refused);
  if (p.action) {
    log.info({ action: p.action.kind, step: p.step }, `act: ${describeAction(p.action)}`);
    deps.fence();
    try {
      const kmsKeyId = cluster.spec.secretsManager?.kmsKeyId;
      const result = await act({ aws, asgName: cluster.spec.autoScalingGroupName, obs, owner: `${ns}/${name}`, ...(kmsKeyId ? { kmsKeyId } : {}) }, p.action);
      actionResult = { kind: p.action.kind, result };
      log.info({ action: p.action.kind, step: p.step }, result);
    } catch (err) {
      // AWS (or TFE's API, for the validation run) refused for good: Degraded with its words, not a retry loop.
      const words = isTerminalAwsError(err) ? awsErrorText(err) : isTerminalTfeError(err) ? (err as Error).message : undefined;
      if (words === undefined) throw err;
      const message = refusalMessage(p.action, words);
      log.warn({ action: p.action.kind, step: p.step }, message);
      p = refusedPlan(p, message);
    }
    if (actionResult && deps.crashAfter && (deps.crashAfter === '*' || deps.crashAfter.split(',').includes(p.action!.kind))) {
      log.warn({ action: p.action!.kind }, 'test switch TFE_OPERATOR_CRASH_AFTER: exiting right after the action');
      process.exit(86);
    }
  }
  return record(deps, cluster, log, p, obs.now, actionResult);
}

/** Writes the plan's status (when it changed) and its Events; says when to look again. */
async function record(
  deps: ReconcilerDeps,
  cluster: TfeCluster,
  log: Logger,
  p: Plan,
  observedAt: number,
  actionResult?: { kind: string; result: string },
): Promise<ReconcileResult> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  deps.onPlan?.(`${ns}/${name}`, cluster, p);
  const now = new Date(observedAt);
  const status = buildStatus(cluster, p, now);
  if (actionResult) status.lastAction = { kind: actionResult.kind, message: actionResult.result, time: now.toISOString() };
  if (statusChanged(cluster.status, status)) {
    deps.fence();
    await patchClusterStatus(deps.kube, ns, name, statusPatch(cluster.status, status), cluster.metadata.resourceVersion);
    if (cluster.status?.phase !== status.phase || cluster.status?.step !== status.step) {
      log.info({ phase: status.phase, step: status.step }, status.message ?? '');
    }
    for (const e of eventsFor(cluster.status, status, actionResult)) {
      deps.fence(); // Events are writes too: a replica that lost the lead records nothing
      await deps.emit(cluster, e).catch((err) => log.warn({ err: err.message }, 'event not recorded'));
    }
  }

  if (p.action) return { requeueAfterMs: 0 };
  if (p.requeueAfterMs !== undefined) return { requeueAfterMs: p.requeueAfterMs };
  // Ready, paused, degraded, waiting for approval: look again later (drift, healing inputs).
  return { requeueAfterMs: deps.resyncDelayMs?.() ?? 60_000, background: true };
}

/**
 * deletionPolicy Delete while the current launch template version still uses what would be
 * deleted: the finalizer stays; status says Deleting with condition Deleting/ResourcesInUse, and
 * a Warning Event names the resources and the fix (once per new message). Looked at again at the
 * resync: rolling the group back, or setting deletionPolicy Retain, lets the deletion finish.
 */
async function refuseDeletion(deps: ReconcilerDeps, cluster: TfeCluster, message: string): Promise<ReconcileResult> {
  const old = cluster.status ?? {};
  const generation = cluster.metadata.generation;
  const status: TfeClusterStatus = {
    ...old,
    phase: 'Deleting',
    message,
    conditions: setConditions(old.conditions as Condition[] | undefined, [{ type: 'Deleting', status: 'True', reason: 'ResourcesInUse', message, observedGeneration: generation }]),
  };
  if (statusChanged(cluster.status, status)) {
    deps.fence();
    await patchClusterStatus(deps.kube, cluster.metadata.namespace!, cluster.metadata.name!, statusPatch(cluster.status, status), cluster.metadata.resourceVersion);
    deps.fence();
    await deps.emit(cluster, { type: 'Warning', reason: 'ResourcesInUse', message }).catch((err) => deps.log.warn({ err: err.message }, 'event not recorded'));
  }
  return { requeueAfterMs: deps.resyncDelayMs?.() ?? 60_000, background: true };
}
