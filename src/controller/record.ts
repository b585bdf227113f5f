// Record: turn a Plan into the TfeCluster's status, write it only when it changed (with the
// resourceVersion that was read), and emit Events only after the write succeeded.

import type { Condition, TfeCluster, TfeClusterStatus } from '../api/types.ts';
import { setConditions } from '../api/conditions.ts';
import type { Plan } from '../migration/planner.ts';
import { canonicalJson } from '../migration/targets.ts';
import { RUN_SUCCEEDED, runEnded } from '../tfe/runs.ts';

export function buildStatus(cluster: TfeCluster, plan: Plan, now: Date): TfeClusterStatus {
  const old = cluster.status ?? {};
  const generation = cluster.metadata.generation;
  const conditions = setConditions(old.conditions as Condition[] | undefined, plan.conditions.map((c) => ({ ...c, observedGeneration: generation })), now);
  const status: Record<string, unknown> = {
    observedGeneration: cluster.metadata.generation,
    phase: plan.phase,
    step: plan.step,
    message: plan.message,
    conditions,
    nodes: { ...plan.nodes, instances: plan.nodes.instances.map((i) => ({ ...i, launchTemplateVersion: i.launchTemplateVersion ?? '' })) },
    redis: plan.redis,
    launchTemplate: plan.launchTemplate,
    encryptionPasswordFingerprint: plan.encryptionPasswordFingerprint,
    validation: plan.validation,
    approval: plan.approval,
    wait: plan.wait,
    lastAction: old.lastAction,
  };
  for (const k of Object.keys(status)) if (status[k] === undefined) delete status[k];
  return status as TfeClusterStatus;
}

/** Whether anything a reader cares about changed. */
export function statusChanged(a: TfeClusterStatus | undefined, b: TfeClusterStatus): boolean {
  return canonicalJson(a ?? {}) !== canonicalJson(b);
}

/** A merge patch from old to new status: fields that disappeared are set to null. */
export function statusPatch(old: TfeClusterStatus | undefined, next: TfeClusterStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const k of Object.keys(old ?? {})) if (!(k in next)) patch[k] = null;
  return patch;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Events for what changed between two statuses: steps started/finished, failures, phase changes. */
export function eventsFor(old: TfeClusterStatus | undefined, next: TfeClusterStatus, actionResult?: { kind: string; result: string }): EventSpec[] {
  const out: EventSpec[] = [];
  const cond = (s: TfeClusterStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);
  if (old?.step !== next.step && next.step) {
    if (old?.step && old.step !== 'Validate') out.push({ type: 'Normal', reason: 'StepCompleted', message: `step ${old.step} completed` });
    out.push({ type: 'Normal', reason: 'StepStarted', message: `step ${next.step} started` });
  }
  if (actionResult) out.push({ type: 'Normal', reason: actionResult.kind, message: actionResult.result });
  const degraded = cond(next, 'Degraded');
  if (degraded?.status === 'True' && (cond(old, 'Degraded')?.status !== 'True' || cond(old, 'Degraded')?.reason !== degraded.reason)) {
    out.push({ type: 'Warning', reason: degraded.reason, message: degraded.message });
  }
  const run = next.validation;
  if (run && (run.runId !== old?.validation?.runId || run.status !== old.validation.status) && runEnded(run.status)) {
    const ok = RUN_SUCCEEDED.has(run.status);
    out.push({ type: ok ? 'Normal' : 'Warning', reason: ok ? 'ValidationPassed' : 'ValidationFailed', message: `validation run ${run.runId} (stage ${run.stage}) ended ${run.status}: ${run.url}` });
  }
  const drifted = cond(next, 'Drifted');
  if (drifted?.status === 'True' && (cond(old, 'Drifted')?.status !== 'True' || cond(old, 'Drifted')?.reason !== drifted.reason)) {
    out.push({ type: 'Warning', reason: 'Drifted', message: drifted.message });
  }
  if (old?.phase !== next.phase && next.phase && next.phase !== 'Degraded') {
    out.push({ type: next.phase === 'RolledBack' ? 'Warning' : 'Normal', reason: `Phase${next.phase}`, message: next.message ?? next.phase });
  }
  return out;
}
