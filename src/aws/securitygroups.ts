// Security group adapter: read ingress rules; add or remove one rule.

import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.ts';
import type { ObservedSecurityGroup, SgRule } from '../migration/observation.ts';

export async function describeSecurityGroups(aws: AwsClients, ids: string[]): Promise<ObservedSecurityGroup[]> {
  if (ids.length === 0) return [];
  try {
    const out = await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ids }));
    return (out.SecurityGroups ?? []).map((g) => ({ id: g.GroupId!, ingress: (g.IpPermissions ?? []).map(toRule) }));
  } catch (err) {
    // One unknown id fails the whole call: read them one by one to report which are missing.
    if (!/NotFound/.test((err as Error).name) || ids.length === 1) {
      if (/NotFound/.test((err as Error).name)) return [];
      throw err;
    }
    const each = await Promise.all(ids.map((id) => describeSecurityGroups(aws, [id])));
    return each.flat();
  }
}

/** A subnet's IPv4 CIDR never changes (EC2 has no call to change it): each is asked for once. */
const subnetCidrCache = new Map<string, string>();

/** IPv4 CIDR blocks of these subnets (where the nodes get their addresses). */
export async function subnetCidrs(aws: AwsClients, ids: string[]): Promise<string[]> {
  const unknown = ids.filter((id) => !subnetCidrCache.has(id));
  if (unknown.length > 0) {
    const out = await aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: unknown }));
    for (const s of out.Subnets ?? []) if (s.SubnetId && s.CidrBlock) subnetCidrCache.set(s.SubnetId, s.CidrBlock);
  }
  return ids.flatMap((id) => subnetCidrCache.get(id) ?? []);
}

export function toRule(p: IpPermission): SgRule {
  const prefixLists = (p.PrefixListIds ?? []).map((x) => x.PrefixListId!).filter(Boolean);
  return {
    protocol: p.IpProtocol ?? '-1',
    fromPort: p.FromPort ?? 0,
    toPort: p.ToPort ?? 65535,
    groups: (p.UserIdGroupPairs ?? []).map((g) => g.GroupId!).filter(Boolean),
    cidrs: [...(p.IpRanges ?? []).map((r) => r.CidrIp!), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6!)].filter(Boolean),
    ...(prefixLists.length ? { prefixLists } : {}),
  };
}

/**
 * The EC2 permission for a rule: every source it names, IPv4 and IPv6 ranges and prefix lists
 * included (a revoke that left them out would leave the rule in place, and `network.mode:
 * Manage` would try again at every reconcile).
 */
export function toPermission(rule: SgRule, description?: string): IpPermission {
  const v4 = rule.cidrs.filter((c) => !c.includes(':'));
  const v6 = rule.cidrs.filter((c) => c.includes(':'));
  const prefixLists = rule.prefixLists ?? [];
  return {
    IpProtocol: rule.protocol,
    FromPort: rule.fromPort,
    ToPort: rule.toPort,
    UserIdGroupPairs: rule.groups.length ? rule.groups.map((GroupId) => ({ GroupId, Description: description })) : undefined,
    IpRanges: v4.map((CidrIp) => ({ CidrIp, Description: description })),
    ...(v6.length ? { Ipv6Ranges: v6.map((CidrIpv6) => ({ CidrIpv6, Description: description })) } : {}),
    ...(prefixLists.length ? { PrefixListIds: prefixLists.map((PrefixListId) => ({ PrefixListId, Description: description })) } : {}),
  };
}

export async function authorizeIngress(aws: AwsClients, groupId: string, rule: SgRule, description: string) {
  await aws.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [toPermission(rule, description.slice(0, 255))] }));
}

export async function revokeIngress(aws: AwsClients, groupId: string, rule: SgRule) {
  await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [toPermission(rule)] }));
}
