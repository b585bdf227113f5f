// deletionPolicy Delete: which of the resources the operator would delete the Auto Scaling
// Group's current launch template version still uses. Pure: the caller reads the user data.

import { userDataNames } from '../tfe/userdata-scan.ts';

export interface DeletionCandidate {
  kind: 'ElastiCache replication group' | 'Secrets Manager secret';
  id: string;
  /** What the user data would say if it used the resource: a secret's name or ARN, the group's endpoint host. */
  names: string[];
}

/** The candidates the user data names (the nodes of that version fetch or connect to them at boot). */
export function resourcesInUse(userData: string, candidates: DeletionCandidate[]): DeletionCandidate[] {
  return candidates.filter((c) => c.names.some((n) => userDataNames(userData, n)));
}

/** The refusal: each resource in use, the version that uses it, and the two ways out. */
export function deletionRefusal(
  inUse: DeletionCandidate[],
  where: { namespace: string; name: string; asgName: string; launchTemplateId: string; version: number; baselineVersion?: number },
): string {
  const list = inUse.map((c) => `${c.kind} ${c.id}`).join(', ');
  const back =
    where.baselineVersion !== undefined && where.baselineVersion !== where.version
      ? ` (e.g. the baseline version ${where.baselineVersion}: aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${where.asgName} --launch-template LaunchTemplateId=${where.launchTemplateId},Version=${where.baselineVersion})`
      : '';
  return (
    `deletionPolicy Delete: not deleting ${list}: launch template ${where.launchTemplateId} version ${where.version}, which Auto Scaling Group ${where.asgName} runs, still uses ${inUse.length === 1 ? 'it' : 'them'} (its nodes read those secrets and connect to that Redis at boot). ` +
    `Nothing was deleted, and the TfeCluster keeps its finalizer. Either point the group at a launch template version that does not use them${back}, or keep them: ` +
    `kubectl patch tfecluster ${where.name} -n ${where.namespace} --type=merge -p '{"spec":{"deletionPolicy":"Retain"}}'`
  );
}
