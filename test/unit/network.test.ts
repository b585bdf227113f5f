// The network checks on HashiCorp's module layout (terraform-aws-terraform-enterprise:
// modules/vm node group with a self rule on all ports and 443/8800 from the load balancer's
// group; modules/redis opening the Redis port by the private subnets' CIDRs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNetwork, cidrContains } from '../../src/migration/network.ts';
import type { ObservedSecurityGroup, SgRule } from '../../src/migration/observation.ts';

const rule = (protocol: string, from: number, to: number, groups: string[] = [], cidrs: string[] = []): SgRule => ({ protocol, fromPort: from, toPort: to, groups, cidrs });
const SUBNETS = ['10.0.32.0/20', '10.0.48.0/20'];

function layout(redisRules: SgRule[], nodeRules: SgRule[]): ObservedSecurityGroup[] {
  return [
    { id: 'sg-nodes', ingress: nodeRules },
    { id: 'sg-redis', ingress: redisRules },
  ];
}

const check = (groups: ObservedSecurityGroup[], nodeSubnetCidrs = SUBNETS) =>
  checkNetwork({ groups, nodeGroups: ['sg-nodes'], redisGroups: ['sg-redis'], redisPort: 6380, externalRedis: false, nodeSubnetCidrs });

test('CIDR containment (IPv4)', () => {
  assert.ok(cidrContains('10.0.0.0/16', '10.0.32.0/20'));
  assert.ok(cidrContains('10.0.32.0/20', '10.0.32.0/20'));
  assert.ok(cidrContains('0.0.0.0/0', '10.0.48.0/20'));
  assert.ok(!cidrContains('10.0.32.0/20', '10.0.0.0/16'));
  assert.ok(!cidrContains('10.1.0.0/16', '10.0.32.0/20'));
  assert.ok(!cidrContains('not-a-cidr', '10.0.32.0/20'));
});

test("the module's layout passes: a node-to-node rule on all ports is no open 8800, Redis by the subnets' CIDRs is open", () => {
  const groups = layout(
    [rule('tcp', 6380, 6380, [], SUBNETS)],
    [rule('-1', 0, 0, ['sg-nodes']), rule('tcp', 443, 443, ['sg-lb'])],
  );
  assert.deepEqual(check(groups).fixes, []);
});

test('Redis by a CIDR that misses a node subnet is not open', () => {
  const groups = layout([rule('tcp', 6380, 6380, [], ['10.0.32.0/20'])], [rule('-1', 0, 0, ['sg-nodes'])]);
  const fixes = check(groups).fixes;
  assert.equal(fixes.length, 1);
  assert.match(fixes[0]!.problem, /Redis port 6380 is not open/);
  // Without known subnets, a CIDR proves nothing.
  assert.equal(check(layout([rule('tcp', 6380, 6380, [], SUBNETS)], [rule('-1', 0, 0, ['sg-nodes'])]), []).fixes.length, 1);
});

test('8800 from the load balancer is open, and only that source is revoked (the node-to-node part stays)', () => {
  const groups = layout([rule('tcp', 6380, 6380, ['sg-nodes'])], [rule('-1', 0, 0, ['sg-nodes']), rule('tcp', 8800, 8800, ['sg-lb', 'sg-nodes'])]);
  const fixes = check(groups).fixes;
  assert.equal(fixes.length, 1);
  assert.match(fixes[0]!.problem, /port 8800 \(Replicated admin console\) is open on sg-nodes from sg-lb$/);
  assert.deepEqual(fixes[0]!.rule, rule('tcp', 8800, 8800, ['sg-lb']));
  assert.equal(fixes[0]!.revoke, true);
  // A wider rule from outside is reported, never removed.
  const wide = check(layout([rule('tcp', 6380, 6380, ['sg-nodes'])], [rule('-1', 0, 0, ['sg-nodes']), rule('tcp', 0, 65535, [], ['10.0.0.0/8'])])).fixes;
  assert.equal(wide.length, 1);
  assert.match(wide[0]!.problem, /from 10\.0\.0\.0\/8 through a wider rule \(tcp 0-65535\) the operator will not remove/);
  assert.equal(wide[0]!.rule, undefined);
});

test('8800 open from IPv6 ranges and a prefix list: the revoke names them all, so Manage mode does not loop', async () => {
  const { toPermission, toRule } = await import('../../src/aws/securitygroups.ts');
  // As EC2 describes it: one permission, sources of every kind.
  const observed = toRule({
    IpProtocol: 'tcp',
    FromPort: 8800,
    ToPort: 8800,
    IpRanges: [{ CidrIp: '203.0.113.0/24' }],
    Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }],
    PrefixListIds: [{ PrefixListId: 'pl-0123456789abcdef0' }],
    UserIdGroupPairs: [{ GroupId: 'sg-nodes' }],
  });
  assert.deepEqual(observed.cidrs, ['203.0.113.0/24', '2001:db8::/32']);
  assert.deepEqual(observed.prefixLists, ['pl-0123456789abcdef0']);
  const { fixes } = check(layout([rule('tcp', 6380, 6380, ['sg-nodes'])], [rule('tcp', 8201, 8201, ['sg-nodes']), observed]));
  const fix = fixes.find((f) => f.revoke)!;
  assert.ok(fix.rule, fix.problem);
  assert.match(fix.problem, /2001:db8::\/32/);
  assert.match(fix.problem, /pl-0123456789abcdef0/);
  const perm = toPermission(fix.rule!);
  assert.deepEqual(perm.IpRanges, [{ CidrIp: '203.0.113.0/24', Description: undefined }]);
  assert.deepEqual(perm.Ipv6Ranges, [{ CidrIpv6: '2001:db8::/32', Description: undefined }]);
  assert.deepEqual(perm.PrefixListIds, [{ PrefixListId: 'pl-0123456789abcdef0', Description: undefined }]);
  assert.equal(perm.UserIdGroupPairs, undefined, 'the node-to-node source stays');

  // What EC2 leaves after that revoke: only the nodes' own group, which is no open 8800.
  const after = toRule({ IpProtocol: 'tcp', FromPort: 8800, ToPort: 8800, UserIdGroupPairs: [{ GroupId: 'sg-nodes' }] });
  const again = check(layout([rule('tcp', 6380, 6380, ['sg-nodes'])], [rule('tcp', 8201, 8201, ['sg-nodes']), after]));
  assert.deepEqual(again.fixes, []);
  // Only IPv6 (the case that looped: nothing was sent, nothing revoked).
  const v6only = check(layout([rule('tcp', 6380, 6380, ['sg-nodes'])], [rule('tcp', 8201, 8201, ['sg-nodes']), rule('tcp', 8800, 8800, [], ['::/0'])]));
  assert.deepEqual(toPermission(v6only.fixes[0].rule!).Ipv6Ranges, [{ CidrIpv6: '::/0', Description: undefined }]);
  assert.deepEqual(toPermission(v6only.fixes[0].rule!).IpRanges, []);
});
