// Act: carry out the one action the planner chose. Every action is idempotent given a fresh
// observation: the planner only asks for what the world does not have yet.

import { detachTargetGroups } from '../aws/targetgroups.ts';
import type { AwsClients } from '../aws/clients.ts';
import { protectInstances, resumeProcesses, rollAsg, scaleAsg, setAsgVersion, suspendProcesses, tagAsg } from '../aws/asg.ts';
import { sendDrain } from '../aws/ssm.ts';
import { TAG } from '../migration/observation.ts';
import { createReplicationGroup } from '../aws/elasticache.ts';
import { createVersionFrom } from '../aws/launchtemplates.ts';
import { authorizeIngress, revokeIngress } from '../aws/securitygroups.ts';
import { putSecret } from '../aws/secrets.ts';
import { createRun, runUrl } from '../tfe/runs.ts';
import type { Action, SecretSource } from '../migration/actions.ts';
import type { Observation, SecretInputs } from '../migration/observation.ts';

export interface ActContext {
  aws: AwsClients;
  asgName: string;
  obs: Observation;
  /** `<namespace>/<name>` of the TfeCluster (names its drain commands). */
  owner: string;
  /** spec.secretsManager.kmsKeyId: the KMS key of the secrets it creates. */
  kmsKeyId?: string;
}

function secretValue(inputs: SecretInputs, source: SecretSource): string | Uint8Array {
  const v =
    source.kind === 'encPassword'
      ? inputs.encPassword
      : source.kind === 'license'
        ? inputs.license
        : source.kind === 'redisPassword'
          ? inputs.redisPassword
          : source.kind === 'daemonPassword'
            ? inputs.daemonPassword
          : source.kind === 'setting'
            ? inputs.settings[source.setting]
            : inputs.files[source.path];
  if (v === undefined) throw new Error(`no value for secret ${source.kind}`);
  return v;
}

/** Returns a short result for the Event ("created version 3"). */
export async function act(ctx: ActContext, action: Action): Promise<string> {
  const { aws, asgName, obs, owner } = ctx;
  switch (action.kind) {
    case 'TagAsg':
      await tagAsg(aws, asgName, action.tags);
      return `tagged Auto Scaling Group ${asgName}: ${action.why}`;
    case 'AuthorizeIngress':
      await authorizeIngress(aws, action.groupId, action.rule, `tfe-operator: ${action.why}`);
      return `opened a rule on ${action.groupId}: ${action.why}`;
    case 'RevokeIngress':
      await revokeIngress(aws, action.groupId, action.rule);
      return `closed a rule on ${action.groupId}: ${action.why}`;
    case 'CreateReplicationGroup': {
      const token = action.params.authToken ? obs.inputs.secrets.redisPassword : undefined;
      if (action.params.authToken && token === undefined) throw new Error('no value for secret redisPassword');
      await createReplicationGroup(aws, action.params, token);
      return `created ElastiCache replication group ${action.params.id}`;
    }
    case 'PutSecrets':
      await Promise.all(
        action.secrets.map((x) => putSecret(aws, x.name, secretValue(obs.inputs.secrets, x.source), x.tags, obs.awsSecrets[x.name] !== undefined, ctx.kmsKeyId)),
      );
      return `stored ${action.secrets.map((x) => x.name).join(', ')} in AWS Secrets Manager`;
    case 'CreateLaunchTemplateVersion': {
      const v = await createVersionFrom(aws, action.launchTemplateId, action.sourceVersion, action.description, action.install);
      return `created launch template version ${v} (${action.description})`;
    }
    case 'RollAsg':
      // Record the rollout first: if the operator dies between the two calls, the tag says
      // what was intended and the next leader finishes it (the roll itself is idempotent).
      await tagAsg(aws, asgName, action.tags);
      await rollAsg(aws, asgName, obs.launchTemplate!.id, action.version, action.capacity, obs.asg?.mixedInstances);
      return `pointed ${asgName} at launch template version ${action.version} and scaled to ${action.capacity}`;
    case 'ScaleAsg':
      await scaleAsg(aws, asgName, action.capacity);
      return `scaled ${asgName} to ${action.capacity}`;
    case 'SuspendProcesses':
      // Tag first: after a crash between the two calls the tag still says what to resume.
      await tagAsg(aws, asgName, { [TAG.suspended]: action.processes.join(',') });
      await suspendProcesses(aws, asgName, action.processes);
      return `suspended ${action.processes.join(', ')} on ${asgName} for the rollout`;
    case 'ResumeProcesses':
      await resumeProcesses(aws, asgName, action.processes);
      await tagAsg(aws, asgName, { [TAG.suspended]: '' });
      return `resumed ${action.processes.join(', ')} on ${asgName}`;
    case 'DetachTargetGroups':
      await detachTargetGroups(aws, asgName, action.arns);
      return `detached target group(s) ${action.names.join(', ')} from ${asgName}: the admin console (8800) is closed and then disabled for Active/Active`;
    case 'DrainNodes': {
      const id = await sendDrain(aws, action.instanceIds, action.command, action.comment, action.timeoutSeconds);
      return `sent TFE's node drain to ${action.instanceIds.join(', ')} (SSM command ${id})`;
    }
    case 'ProtectInstances': {
      // Record first: after a crash between the two calls the tag still says what to unprotect.
      const ours = (obs.asg?.tags[TAG.protected] ?? '').split(',').filter(Boolean);
      if (action.protect) await tagAsg(aws, asgName, { [TAG.protected]: [...new Set([...ours, ...action.instanceIds])].join(',') });
      await protectInstances(aws, asgName, action.instanceIds, action.protect);
      if (!action.protect) await tagAsg(aws, asgName, { [TAG.protected]: ours.filter((i) => !action.instanceIds.includes(i)).join(',') });
      return `${action.protect ? 'protected' : 'unprotected'} ${action.instanceIds.join(', ')} ${action.protect ? 'from' : 'for'} scale-in on ${asgName}`;
    }
    case 'QueueValidationRun': {
      const token = obs.inputs.secrets.validationToken;
      if (token === undefined) throw new Error('no value for secret validationToken');
      const run = await createRun({ address: action.address, token, ca: obs.inputs.validationCa }, action.workspaceId, action.message, action.apply);
      const [org, ws] = action.workspace.split('/') as [string, string];
      return `queued validation run ${run.id} in workspace ${action.workspace} (${run.status}): ${runUrl(action.address, org, ws, run.id)}`;
    }
    case 'SetAsgVersion':
      await setAsgVersion(aws, asgName, obs.launchTemplate!.id, action.version, obs.asg?.mixedInstances);
      return `pointed ${asgName} back at launch template version ${action.version}`;
  }
}
