// Network checks from HashiCorp's Active/Active guide, as pure functions over observed
// security groups: the Redis port open from the nodes to Redis (by their security group, or by
// CIDRs that cover their subnets, as HashiCorp's Redis module opens it), 8201 open node-to-node
// (Vault HA), 8800 (Replicated admin console) closed to everyone but the nodes themselves (a
// node-to-node rule on all ports, as HashiCorp's module has, exposes nothing).

import type { ObservedSecurityGroup, ObservedTargetGroup, SgRule } from './observation.ts';

export interface NetworkFix {
  groupId: string;
  problem: string;
  /** The rule to add (or, with revoke, remove); absent when the operator cannot fix it safely. */
  rule?: SgRule;
  revoke?: boolean;
}

export interface NetworkInput {
  groups: ObservedSecurityGroup[];
  nodeGroups: string[];
  redisGroups: string[];
  redisPort: number;
  /** External Redis lives outside these groups unless redisGroups are given. */
  externalRedis: boolean;
  /** IPv4 CIDRs of the nodes' subnets. */
  nodeSubnetCidrs?: string[];
}

const netmask = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

function ipv4(cidr: string): { addr: number; bits: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const bits = Number(m[5]);
  const octets = m.slice(1, 5).map(Number);
  if (bits > 32 || octets.some((o) => o > 255)) return undefined;
  return { addr: ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0, bits };
}

/** Does `outer` contain all of `inner`? (IPv4 CIDRs) */
export function cidrContains(outer: string, inner: string): boolean {
  const o = ipv4(outer);
  const i = ipv4(inner);
  if (!o || !i || i.bits < o.bits) return false;
  const mask = netmask(o.bits);
  return ((i.addr & mask) >>> 0) === ((o.addr & mask) >>> 0);
}

export const VAULT_HA_PORT = 8201;
export const REPLICATED_UI_PORT = 8800;

function covers(rule: SgRule, port: number): boolean {
  const proto = rule.protocol === '-1' || rule.protocol === 'tcp' || rule.protocol === '6';
  return proto && (rule.protocol === '-1' || (rule.fromPort <= port && port <= rule.toPort));
}

function tcp(port: number, groups: string[]): SgRule {
  return { protocol: 'tcp', fromPort: port, toPort: port, groups, cidrs: [] };
}

export function checkNetwork(input: NetworkInput): { missingGroups: string[]; fixes: NetworkFix[] } {
  const byId = new Map(input.groups.map((g) => [g.id, g]));
  const wanted = [...new Set([...input.nodeGroups, ...input.redisGroups])];
  const missingGroups = wanted.filter((id) => !byId.has(id));
  if (missingGroups.length > 0) return { missingGroups, fixes: [] };
  const fixes: NetworkFix[] = [];
  const nodes = input.nodeGroups.map((id) => byId.get(id)!);
  const fromNodes = (r: SgRule) => r.groups.some((g) => input.nodeGroups.includes(g));
  const subnets = input.nodeSubnetCidrs ?? [];
  // A rule by CIDR opens the port to the nodes when every node subnet lies in one of its CIDRs.
  const fromNodeSubnets = (r: SgRule) => subnets.length > 0 && subnets.every((s) => r.cidrs.some((c) => cidrContains(c, s)));

  if (input.redisGroups.length > 0) {
    const redis = input.redisGroups.map((id) => byId.get(id)!);
    const open = redis.some((g) => g.ingress.some((r) => covers(r, input.redisPort) && (fromNodes(r) || fromNodeSubnets(r))));
    if (!open) {
      fixes.push({
        groupId: redis[0].id,
        problem: `Redis port ${input.redisPort} is not open from the node security groups (${input.nodeGroups.join(', ')}) to ${redis[0].id}`,
        rule: tcp(input.redisPort, [input.nodeGroups[0]]),
      });
    }
  }
  if (nodes.length > 0) {
    const vault = nodes.some((g) => g.ingress.some((r) => covers(r, VAULT_HA_PORT) && fromNodes(r)));
    if (!vault) {
      fixes.push({
        groupId: nodes[0].id,
        problem: `port ${VAULT_HA_PORT} (Vault HA) is not open between the nodes (${nodes[0].id})`,
        rule: tcp(VAULT_HA_PORT, [nodes[0].id]),
      });
    }
  }
  for (const g of nodes) {
    for (const r of g.ingress) {
      if (!covers(r, REPLICATED_UI_PORT)) continue;
      // Who can reach 8800 through this rule, besides the nodes themselves.
      // CIDRs (IPv4 and IPv6) and prefix lists are all outsiders: the revoke names every one.
      const outsiders: SgRule = { ...r, groups: r.groups.filter((x) => !input.nodeGroups.includes(x)) };
      const prefixLists = outsiders.prefixLists ?? [];
      if (outsiders.groups.length === 0 && outsiders.cidrs.length === 0 && prefixLists.length === 0) continue;
      const exact = r.protocol === 'tcp' && r.fromPort === REPLICATED_UI_PORT && r.toPort === REPLICATED_UI_PORT;
      const who = [...outsiders.groups, ...outsiders.cidrs, ...prefixLists].join(', ');
      fixes.push({
        groupId: g.id,
        problem: `port ${REPLICATED_UI_PORT} (Replicated admin console) is open on ${g.id} from ${who}${exact ? '' : ` through a wider rule (${r.protocol} ${r.fromPort}-${r.toPort}) the operator will not remove`}`,
        rule: exact ? outsiders : undefined,
        revoke: true,
      });
    }
  }
  return { missingGroups, fixes };
}

/** A target group that sends traffic to, or health-checks, the admin console (8800): it turns unhealthy once the console is off. */
export function isConsoleGroup(g: ObservedTargetGroup): boolean {
  return g.port === REPLICATED_UI_PORT || g.healthCheckPort === String(REPLICATED_UI_PORT);
}
