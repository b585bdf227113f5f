// Issue 15: the operator-side policy (a ConfigMap in the operator's namespace). A TfeCluster
// outside it (role, region, ASG name, external Redis host: one per dimension) is Degraded
// NotAllowedByPolicy, naming the rule and the field, before any AWS call at all.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { TfeCluster } from '../../src/api/types.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/types.ts';
import { DEFAULT_POLICY_CONFIGMAP, POLICY_KEY } from '../../src/security/policy.ts';
import { callMark, freshWorld, k, NS, operatorCallsSince, startOperator, stopOperator } from './day2.ts';
import { exampleCluster, getCluster } from './support.ts';
import { resetWorld } from '../harness.ts';

const OP_NS = 'default';
const ROLE = 'arn:aws:iam::123456789012:role/tfe-operator';
const POLICY = `rules:
  - name: tfe-platform
    namespaces: ["${NS}"]
    roleArns: ["${ROLE}"]
    externalId: tfe-platform-1
    regions: [us-east-1]
    autoScalingGroups: ["tfe"]
    redisHosts: ["*.cache.amazonaws.com"]
`;

before(async () => {
  await freshWorld();
  await k.core.createNamespacedConfigMap({ namespace: OP_NS, body: { metadata: { name: DEFAULT_POLICY_CONFIGMAP }, data: { [POLICY_KEY]: POLICY } } });
});

after(async () => {
  await stopOperator();
  await k.core.deleteNamespacedConfigMap({ name: DEFAULT_POLICY_CONFIGMAP, namespace: OP_NS }).catch(() => undefined);
  await resetWorld();
});

const CASES: Array<[string, string, (c: TfeCluster) => void]> = [
  ['policy-role', 'spec.aws.roleArn', (c) => (c.spec.aws.roleArn = 'arn:aws:iam::999999999999:role/admin')],
  ['policy-region', 'spec.aws.region', (c) => (c.spec.aws.region = 'eu-west-1')],
  ['policy-asg', 'spec.autoScalingGroupName', (c) => (c.spec.autoScalingGroupName = 'payroll')],
  [
    'policy-redis',
    'spec.redis.external.host',
    (c) => {
      c.spec.redis = { external: { host: 'redis.attacker.example.net', port: 6379, tls: true } } as never;
      c.spec.network = { mode: 'Verify' } as never;
    },
  ],
];

test('a TfeCluster outside the operator policy is Degraded before any AWS call', async () => {
  const mark = await callMark();
  await startOperator('policy', ['--operator-namespace', OP_NS]);
  for (const [name, , mutate] of CASES) {
    const c = exampleCluster((x) => {
      x.metadata.name = name;
      x.spec.aws.roleArn = ROLE;
      mutate(x);
    });
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: c });
  }
  for (const [name, field] of CASES) {
    const deadline = Date.now() + 60_000;
    let c = await getCluster(k, NS, name);
    while (c.status?.phase !== 'Degraded' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      c = await getCluster(k, NS, name);
    }
    const d = c.status?.conditions?.find((x) => x.type === 'Degraded');
    assert.equal(d?.reason, 'NotAllowedByPolicy', `${name}: ${JSON.stringify(c.status)}`);
    assert.ok(c.status!.message!.startsWith(`${field} `), `${name}: names the field: ${c.status!.message}`);
    assert.ok(c.status!.message!.includes(`ConfigMap ${OP_NS}/${DEFAULT_POLICY_CONFIGMAP}, rule "tfe-platform" for namespace ${NS}`), `${name}: names the rule: ${c.status!.message}`);
  }
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual((await operatorCallsSince(mark)).map((x) => `${x.service}:${x.action}`), [], 'the operator called AWS for a TfeCluster the policy refuses');
});
