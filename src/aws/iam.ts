// Whether the TFE nodes may read the secrets the operator stores for them: the launch
// template's instance profile -> its role -> iam:SimulatePrincipalPolicy of
// secretsmanager:GetSecretValue on each secret's ARN (IAM's own policy evaluation, without
// booting a node). Secrets encrypted with the default aws/secretsmanager key need no KMS grant.

import { GetInstanceProfileCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import type { AwsClients } from './clients.ts';
import type { NodeAccess } from '../migration/observation.ts';
import { NODE_SECRET_ACTION } from '../migration/targets.ts';


/**
 * `profile`: the launch template's IamInstanceProfile (Arn or Name); `secrets`: name -> ARN,
 * or undefined for a secret not stored yet: it is judged by the ARN it will have (AWS appends
 * six random characters to the name, so a policy for "name-??????" or "prefix*" matches the
 * placeholder as it will match the real one), so the check can run before anything is created.
 */
export async function checkNodeAccess(
  aws: AwsClients,
  region: string,
  profile: { arn?: string; name?: string },
  secrets: Record<string, string | undefined>,
): Promise<NodeAccess> {
  const profileName = profile.name ?? profile.arn!.split('/').pop()!;
  const out = await aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profileName }));
  const role = out.InstanceProfile?.Roles?.[0]?.Arn;
  if (!role) return { profile: profileName, denied: [], noRole: true };
  const [, partition, , , account] = role.split(':');
  const arns: Record<string, string> = Object.fromEntries(
    Object.entries(secrets).map(([name, arn]) => [name, arn ?? `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-xxxxxx`]),
  );
  const res = await aws.iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: role, ActionNames: [NODE_SECRET_ACTION], ResourceArns: Object.values(arns) }));
  const denied = new Set((res.EvaluationResults ?? []).filter((r) => r.EvalDecision !== 'allowed').map((r) => r.EvalResourceName));
  return { profile: profileName, role, denied: Object.entries(arns).filter(([, arn]) => denied.has(arn)).map(([name]) => name) };
}
