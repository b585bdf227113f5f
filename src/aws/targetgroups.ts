// Load balancer target groups of the Auto Scaling Group: which ones check the Replicated admin
// console (port 8800), and detaching those from the group.

import { DetachLoadBalancerTargetGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeTargetGroupsCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.ts';
import type { ObservedTargetGroup } from '../migration/observation.ts';

/** DescribeTargetGroups takes at most 20 ARNs per call (AWS's limit for TargetGroupArns). */
const PAGE = 20;

export async function describeTargetGroups(aws: AwsClients, arns: string[]): Promise<ObservedTargetGroup[]> {
  const out: ObservedTargetGroup[] = [];
  for (let i = 0; i < arns.length; i += PAGE) {
    const res = await aws.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns.slice(i, i + PAGE) }));
    for (const g of res.TargetGroups ?? []) {
      out.push({ arn: g.TargetGroupArn!, name: g.TargetGroupName ?? '', port: g.Port, healthCheckPort: g.HealthCheckPort });
    }
  }
  return out;
}

export async function detachTargetGroups(aws: AwsClients, asgName: string, arns: string[]): Promise<void> {
  await aws.asg.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: asgName, TargetGroupARNs: arns }));
}

/** Each registered instance's state in one target group, with AWS's reason when not healthy. */
export async function describeTargetHealth(aws: AwsClients, arn: string): Promise<Record<string, { state: string; reason?: string }>> {
  const res = await aws.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  const out: Record<string, { state: string; reason?: string }> = {};
  for (const d of res.TargetHealthDescriptions ?? []) {
    const id = d.Target?.Id;
    if (!id) continue;
    out[id] = { state: d.TargetHealth?.State ?? 'unknown', ...(d.TargetHealth?.Reason ? { reason: d.TargetHealth.Reason } : {}) };
  }
  return out;
}
