// The one thing a reconcile does next. Data only; src/controller/act.ts carries it out.

import type { AnyInstall } from '../install/kind.ts';
import type { RolloutMode, SgRule } from './observation.ts';

/** Where a secret value comes from; act.ts reads it from the in-memory inputs. Never the value itself. */
export type SecretSource =
  | { kind: 'encPassword' }
  | { kind: 'license' }
  | { kind: 'redisPassword' }
  | { kind: 'daemonPassword' }
  | { kind: 'setting'; setting: string }
  | { kind: 'file'; path: string };

export interface SecretPut {
  name: string;
  source: SecretSource;
  hash: string;
  tags: Record<string, string>;
}

export interface ReplicationGroupParams {
  id: string;
  description: string;
  nodeType: string;
  engineVersion?: string;
  port: number;
  subnetGroupName?: string;
  subnetIds?: string[];
  securityGroupIds: string[];
  multiAz: boolean;
  preferredAvailabilityZones?: string[];
  replicasPerNodeGroup: number;
  transitEncryption: boolean;
  atRestEncryption: boolean;
  automaticFailover: boolean;
  /** Whether to send the auth token (read from inputs by act.ts). */
  authToken: boolean;
  tags: Record<string, string>;
}

export type Action =
  | { kind: 'TagAsg'; tags: Record<string, string>; why: string }
  | { kind: 'AuthorizeIngress'; groupId: string; rule: SgRule; why: string }
  | { kind: 'RevokeIngress'; groupId: string; rule: SgRule; why: string }
  | { kind: 'CreateReplicationGroup'; params: ReplicationGroupParams }
  | { kind: 'PutSecrets'; secrets: SecretPut[] }
  | {
      kind: 'CreateLaunchTemplateVersion';
      launchTemplateId: string;
      sourceVersion: number;
      description: string;
      install: AnyInstall;
    }
  | {
      kind: 'RollAsg';
      /** Point the ASG at this version and set min = max = desired = capacity (0 for a repave). */
      version: number;
      capacity: number;
      mode: RolloutMode;
      tags: Record<string, string>;
    }
  | { kind: 'ScaleAsg'; capacity: number }
  | { kind: 'SetAsgVersion'; version: number }
  /** Suspend (and record in a tag) / resume the ASG processes that would replace nodes mid-rollout. */
  | { kind: 'SuspendProcesses'; processes: string[] }
  | { kind: 'ResumeProcesses'; processes: string[] }
  /** Detach target groups that check the admin console (8800) before it is closed or disabled. */
  | { kind: 'DetachTargetGroups'; arns: string[]; names: string[] }
  /** TFE's node drain on these instances through SSM Run Command. */
  | { kind: 'DrainNodes'; instanceIds: string[]; command: string; timeoutSeconds: number; comment: string }
  /** Scale-in protection on (or off): a scale-in then removes exactly the unprotected nodes (recorded in a tag). */
  | { kind: 'ProtectInstances'; instanceIds: string[]; protect: boolean }
  /** Queue spec.validation's run (the token is read from inputs by act.ts). */
  | { kind: 'QueueValidationRun'; address: string; workspaceId: string; workspace: string; message: string; apply: boolean };

/**
 * The Comment on the operator's drain commands: how it finds them again after a restart. It
 * names the spec generation, so a spec change (a retry after DrainTimeout or DrainFailed) sends
 * the drain again instead of reading the old command's end.
 */
export const drainComment = (owner: string, generation: number) => `tfe-operator drain ${owner} #${generation}`.slice(0, 100);

export function isDisruptive(action: Action): boolean {
  if (action.kind === 'RollAsg') return true;
  if (action.kind === 'ScaleAsg') return true;
  if (action.kind === 'DetachTargetGroups') return true;
  return false;
}

/** A stable id for an approval gate, e.g. `RollAsg:v3:0`, what `tfe.operators.dev/approve` must say. */
export function approvalId(action: Action): string | undefined {
  // A rollback has an id of its own: an approval left from the roll forward to the same version does not approve it.
  if (action.kind === 'RollAsg') return action.mode === 'rollback' ? `rollback-to-v${action.version}` : `roll-v${action.version}-to-${action.capacity}`;
  if (action.kind === 'ScaleAsg') return `scale-to-${action.capacity}`;
  if (action.kind === 'DetachTargetGroups') return 'detach-console-target-groups';
  return undefined;
}

/** One line a person reads: what the action does. No secret values (actions hold none). */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'TagAsg':
      return `tag the Auto Scaling Group (${action.why})`;
    case 'AuthorizeIngress':
      return `open ${describeRule(action.rule)} on ${action.groupId} (${action.why})`;
    case 'RevokeIngress':
      return `close ${describeRule(action.rule)} on ${action.groupId} (${action.why})`;
    case 'CreateReplicationGroup':
      return `create ElastiCache replication group ${action.params.id}`;
    case 'PutSecrets':
      return `store ${action.secrets.map((x) => x.name).join(', ')} in AWS Secrets Manager`;
    case 'CreateLaunchTemplateVersion':
      return `create launch template version "${action.description}"`;
    case 'RollAsg':
      return `point the Auto Scaling Group at launch template version ${action.version} and scale to ${action.capacity}`;
    case 'ScaleAsg':
      return `scale the Auto Scaling Group to ${action.capacity}`;
    case 'SetAsgVersion':
      return `point the Auto Scaling Group back at launch template version ${action.version}`;
    case 'SuspendProcesses':
      return `suspend the Auto Scaling Group processes ${action.processes.join(', ')} for the rollout`;
    case 'ResumeProcesses':
      return `resume the Auto Scaling Group processes ${action.processes.join(', ')}`;
    case 'DetachTargetGroups':
      return `detach target group(s) ${action.names.join(', ')} (the Replicated admin console, port 8800) from the Auto Scaling Group`;
    case 'DrainNodes':
      return `drain TFE on ${action.instanceIds.join(', ')} (${action.command} through AWS Systems Manager)`;
    case 'ProtectInstances':
      return `${action.protect ? 'protect' : 'unprotect'} ${action.instanceIds.join(', ')} ${action.protect ? 'from' : 'for'} scale-in`;
    case 'QueueValidationRun':
      return `queue a ${action.apply ? 'run (auto-apply)' : 'plan-only run'} in TFE workspace ${action.workspace}`;
  }
}

export function describeRule(rule: SgRule): string {
  const port = rule.fromPort === rule.toPort ? `${rule.fromPort}` : `${rule.fromPort}-${rule.toPort}`;
  const from = [...rule.groups, ...rule.cidrs].join(', ');
  return `${rule.protocol} ${port}${from ? ` from ${from}` : ''}`;
}
