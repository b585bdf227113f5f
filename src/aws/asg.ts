// Auto Scaling Group adapter: read the group as the planner needs it; change its launch
// template version, capacity and tags.

import {
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  ResumeProcessesCommand,
  SetInstanceProtectionCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
  type MixedInstancesPolicy,
  type UpdateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.ts';
import type { ObservedAsg } from '../migration/observation.ts';

/** The group as observed; its launch template version is still the raw spec ('$Latest', '3'). */
export type RawAsg = Omit<ObservedAsg, 'launchTemplateVersion'>;

export async function describeAsg(aws: AwsClients, name: string, withPrivateIps: boolean): Promise<RawAsg | undefined> {
  const out = await aws.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  const g = out.AutoScalingGroups?.[0];
  if (!g) return undefined;
  // A group launches from its mixed instances policy's template when it has one (AWS then
  // answers no LaunchTemplate; moto may still show the one the group was created with).
  const lt = g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification ?? g.LaunchTemplate;
  // Terminating instances still run TFE until they are gone: they stay in the list (isLeaving).
  const instances = (g.Instances ?? [])
    .filter((i) => i.LifecycleState !== 'Terminated')
    .map((i) => ({
      id: i.InstanceId!,
      lifecycleState: i.LifecycleState ?? 'Unknown',
      launchTemplateVersion: i.LaunchTemplate?.Version,
      protectedFromScaleIn: i.ProtectedFromScaleIn ?? false,
    }));
  if (withPrivateIps && instances.length > 0) {
    const ips = await privateIps(aws, instances.map((i) => i.id));
    for (const i of instances) Object.assign(i, { privateIp: ips.get(i.id) });
  }
  return {
    name: g.AutoScalingGroupName!,
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    launchTemplateId: lt?.LaunchTemplateId,
    launchTemplateName: lt?.LaunchTemplateName,
    launchTemplateVersionSpec: lt?.Version,
    instances,
    tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
    subnetIds: (g.VPCZoneIdentifier ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    healthCheckType: g.HealthCheckType,
    healthCheckGracePeriod: g.HealthCheckGracePeriod,
    targetGroupArns: g.TargetGroupARNs ?? [],
    suspendedProcesses: (g.SuspendedProcesses ?? []).map((p) => p.ProcessName!).filter(Boolean),
    ...(g.MixedInstancesPolicy
      ? {
          mixedInstances: {
            overrides: (g.MixedInstancesPolicy.LaunchTemplate?.Overrides ?? []) as Array<Record<string, unknown>>,
            ...(g.MixedInstancesPolicy.InstancesDistribution ? { distribution: g.MixedInstancesPolicy.InstancesDistribution as Record<string, unknown> } : {}),
          },
        }
      : {}),
  };
}

async function privateIps(aws: AwsClients, ids: string[]): Promise<Map<string, string>> {
  const out = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  const map = new Map<string, string>();
  for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId && i.PrivateIpAddress) map.set(i.InstanceId, i.PrivateIpAddress);
  return map;
}

type MixedInstances = NonNullable<ObservedAsg['mixedInstances']>;

/**
 * How to name the launch template version in UpdateAutoScalingGroup: LaunchTemplate, or for a
 * group with a MixedInstancesPolicy the policy's LaunchTemplateSpecification, with its
 * overrides and distribution as they are (AWS takes one or the other, never both).
 */
function templateParams(launchTemplateId: string, version: number, mixed: MixedInstances | undefined): Partial<UpdateAutoScalingGroupCommandInput> {
  const spec = { LaunchTemplateId: launchTemplateId, Version: String(version) };
  if (!mixed) return { LaunchTemplate: spec };
  const policy: MixedInstancesPolicy = {
    LaunchTemplate: { LaunchTemplateSpecification: spec, Overrides: mixed.overrides },
    ...(mixed.distribution ? { InstancesDistribution: mixed.distribution } : {}),
  };
  return { MixedInstancesPolicy: policy };
}

/** Point the group at a launch template version and set min = max = desired = capacity, in one call. */
export async function rollAsg(aws: AwsClients, name: string, launchTemplateId: string, version: number, capacity: number, mixed?: MixedInstances) {
  await aws.asg.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      ...templateParams(launchTemplateId, version, mixed),
      MinSize: capacity,
      MaxSize: capacity,
      DesiredCapacity: capacity,
    }),
  );
}

export async function scaleAsg(aws: AwsClients, name: string, capacity: number) {
  await aws.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: capacity, MaxSize: capacity, DesiredCapacity: capacity }));
}

/** Scale-in protection on (or off) for these instances: a scale-in then removes only the others. */
export async function protectInstances(aws: AwsClients, name: string, instanceIds: string[], protect: boolean) {
  await aws.asg.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: name, InstanceIds: instanceIds, ProtectedFromScaleIn: protect }));
}

export async function suspendProcesses(aws: AwsClients, name: string, processes: string[]) {
  await aws.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: processes }));
}

export async function resumeProcesses(aws: AwsClients, name: string, processes: string[]) {
  await aws.asg.send(new ResumeProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: processes }));
}

export async function setAsgVersion(aws: AwsClients, name: string, launchTemplateId: string, version: number, mixed?: MixedInstances) {
  await aws.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, ...templateParams(launchTemplateId, version, mixed) }));
}

/** Set tags; an empty value deletes the tag. */
export async function tagAsg(aws: AwsClients, name: string, tags: Record<string, string>) {
  const set = Object.entries(tags).filter(([, v]) => v !== '');
  const del = Object.entries(tags).filter(([, v]) => v === '');
  const tag = ([Key, Value]: [string, string]) => ({ ResourceId: name, ResourceType: 'auto-scaling-group', Key, Value, PropagateAtLaunch: false });
  if (set.length > 0) await aws.asg.send(new CreateOrUpdateTagsCommand({ Tags: set.map(tag) }));
  if (del.length > 0) await aws.asg.send(new DeleteTagsCommand({ Tags: del.map(tag) }));
}
