// What a finished migration of the sandbox example must look like, whatever went wrong on
// the way: the same end state as a clean run and no action carried out twice. Read back from
// Kubernetes, moto (its own call log and ASG history, not the proxy's) and the simulator.
import assert from 'node:assert/strict';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { DescribeReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { asgHistory, awsCalls, type AwsCall } from '../sandbox/moto.ts';
import { awsClientConfig } from '../sandbox/world.ts';
import { parseUserData, type NodeInstall } from '../../src/tfe/userdata.ts';
import { canonicalJson, contentHash } from '../../src/migration/targets.ts';
import type { TfeCluster } from '../../src/api/types.ts';
import { aws, describeAsg, isReady, replicationGroup } from '../e2e/support.ts';

/** Whether the operator made the call (its user agent names it; the world seeding and the simulator do not). */
export function byOperator(c: AwsCall): boolean {
  return /tfe-operator/.test(`${c.userAgent ?? ''} ${c.amzUserAgent ?? ''}`);
}

/** Calls of the operator that moto answered with 2xx, by action. */
export function successes(calls: AwsCall[], action: string): number {
  return calls.filter((c) => byOperator(c) && c.action === action && c.status !== null && c.status >= 200 && c.status < 300).length;
}

export interface EndState {
  /** Parsed installs of the versions the operator created, in version order. */
  created: NodeInstall[];
  /** Canonical JSON of the current version's install (what the nodes run). */
  current: string;
  size: { min: number; max: number; desired: number };
  history: number[];
}

/**
 * Asserts that the example TfeCluster finished like a clean run: Ready with every step
 * condition True; one replication group; the ASG at 2/2/2 on the second of exactly two
 * launch template versions the operator created; desired capacity 1 -> 0 -> 1 -> 0 -> 2 with
 * no repeat; exactly the operator's four Secrets Manager secrets. Returns what it read.
 */
export async function assertCleanEnd(c: TfeCluster, what: string): Promise<EndState> {
  const endpoint = process.env.AWS_ENDPOINT_URL!;
  assert.ok(isReady(c), `${what}: not Ready: ${c.status?.phase} ${c.status?.message}`);
  for (const t of ['Ready', 'Validated', 'RedisReady', 'SingleNodeHealthy', 'ReplicatedUIDisabled', 'ScaledOut']) {
    const cond = c.status?.conditions?.find((x) => x.type === t);
    assert.equal(cond?.status, 'True', `${what}: condition ${t} is ${JSON.stringify(cond)}`);
  }
  assert.equal(c.status?.conditions?.find((x) => x.type === 'Degraded')?.status, 'False', `${what}: Degraded at the end`);

  const calls = await awsCalls(endpoint);
  const once = (action: string, n: number) =>
    assert.equal(successes(calls, action), n, `${what}: moto carried out ${action} ${successes(calls, action)} times, expected ${n}`);
  // CreateReplicationGroup has no idempotency token: a second success would be a second group.
  // CreateLaunchTemplateVersion and CreateSecret carry the SDK's idempotency token, so a retry of
  // a call whose answer was lost may succeed again without creating anything: for those the
  // witness is what exists in moto afterwards (below), not the number of calls.
  once('CreateReplicationGroup', 1);

  const rgId = c.spec.redis.elastiCache!.replicationGroupId;
  const rg = await replicationGroup(rgId);
  const all = await aws().elasticache.send(new DescribeReplicationGroupsCommand({}));
  assert.deepEqual(all.ReplicationGroups?.map((g) => g.ReplicationGroupId), [rgId], `${what}: replication groups in moto`);

  const sm = new SecretsManagerClient(awsClientConfig(endpoint));
  try {
    const names = ((await sm.send(new ListSecretsCommand({ MaxResults: 100 }))).SecretList ?? []).map((s) => s.Name!).sort();
    const ns = c.metadata.namespace;
    const name = c.metadata.name;
    const ours = names.filter((n) => n.startsWith('tfe-operator/'));
    assert.deepEqual(
      ours,
      ['enc_password', 'license', 'redis_pass', 'setting-pg_password'].map((p) => `tfe-operator/${ns}/${name}/${p}`).sort(),
      `${what}: the operator's Secrets Manager secrets`,
    );
  } finally {
    sm.destroy();
  }

  const g = await describeAsg();
  const size = { min: g.MinSize!, max: g.MaxSize!, desired: g.DesiredCapacity! };
  assert.deepEqual(size, { min: 2, max: 2, desired: 2 }, `${what}: ASG size`);
  const ltId = g.LaunchTemplate!.LaunchTemplateId!;
  const versions = (await aws().ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: ltId }))).LaunchTemplateVersions ?? [];
  const numbers = versions.map((v) => v.VersionNumber!).sort((a, b) => a - b);
  assert.deepEqual(numbers, [1, 2, 3], `${what}: launch template versions (the baseline and the operator's two)`);
  assert.equal(g.LaunchTemplate!.Version, '3', `${what}: the ASG launches from version ${g.LaunchTemplate!.Version}, expected 3`);
  assert.equal(c.status?.launchTemplate?.currentVersion, 3, `${what}: status.launchTemplate.currentVersion`);
  for (const i of g.Instances ?? []) assert.equal(i.LaunchTemplate?.Version, '3', `${what}: instance ${i.InstanceId} runs version ${i.LaunchTemplate?.Version}`);
  assert.equal((g.Instances ?? []).length, 2, `${what}: instances in the ASG`);

  const created: NodeInstall[] = [];
  for (const n of [2, 3]) {
    const v = versions.find((x) => x.VersionNumber === n)!;
    const install = parseUserData(Buffer.from(v.LaunchTemplateData!.UserData!, 'base64').toString('utf8'));
    // The description names the content it was created for: the content must match it.
    assert.ok(v.VersionDescription?.endsWith(contentHash(install)), `${what}: version ${n} "${v.VersionDescription}" does not match its user data`);
    created.push(install);
  }
  assert.match(versions.find((x) => x.VersionNumber === 2)!.VersionDescription!, /single node on Redis/, `${what}: version 2`);
  assert.match(versions.find((x) => x.VersionNumber === 3)!.VersionDescription!, /active\/active/, `${what}: version 3`);
  const full = created[1]!;
  assert.equal(full.settings.enable_active_active?.value, '1');
  assert.equal(full.settings.redis_host?.value, rg.NodeGroups![0]!.PrimaryEndpoint!.Address);
  assert.ok(full.installArgs.includes('disable-replicated-ui'), `${what}: install args ${full.installArgs.join(' ')}`);

  const history = (await asgHistory(endpoint, 'tfe')).filter((h) => h.from !== null).map((h) => h.to!);
  assert.deepEqual(history, [0, 1, 0, 2], `${what}: desired capacity changes of ASG tfe (a repeat means a step ran twice)`);
  return { created, current: canonicalJson(full), size, history };
}
