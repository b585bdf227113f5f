// End to end in the sandbox: the operator walks the seeded standalone install to
// Active/Active against kube-apiserver, moto, redis-server and the TFE node simulator.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asgHistory, awsCalls } from '../sandbox/moto.ts';
import { resetWorld } from '../harness.ts';
import { SECRET_VALUES } from '../sandbox/world.ts';
import { parseUserData } from '../../src/tfe/userdata.ts';
import {
  createCluster,
  describeAsg,
  eventsOf,
  exampleCluster,
  isReady,
  kube,
  operator,
  replicationGroup,
  simState,
  userDataOf,
  waitFor,
} from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
let op: OperatorProcess | undefined;

before(async () => {
  await resetWorld();
});
after(async () => {
  await op?.stop();
});

test('apply the example: the operator migrates the standalone node to Active/Active', async () => {
  op = await operator('e2e-1');
  const c = exampleCluster();
  await createCluster(k, c);
  const ready = await waitFor(k, 'tfe', c.metadata.name!, isReady, 180_000, 'Ready');

  // Redis: TLS in transit, at-rest encryption, auth token.
  const rg = await replicationGroup(c.spec.redis.elastiCache!.replicationGroupId);
  assert.equal(rg.TransitEncryptionEnabled, true);
  assert.equal(rg.AtRestEncryptionEnabled, true);
  assert.equal(rg.AuthTokenEnabled, true);
  assert.equal(ready.status?.redis?.endpoint, rg.NodeGroups![0].PrimaryEndpoint!.Address);

  // The ASG: min = max = desired = 2, on the operator's last version.
  const g = await describeAsg();
  assert.equal(g.MinSize, 2);
  assert.equal(g.MaxSize, 2);
  assert.equal(g.DesiredCapacity, 2);
  const version = g.LaunchTemplate!.Version!;
  assert.equal(String(ready.status?.launchTemplate?.currentVersion), version);
  const script = await userDataOf(g.LaunchTemplate!.LaunchTemplateId!, version);
  const install = parseUserData(script);
  assert.equal(install.settings.enable_active_active.value, '1');
  assert.equal(install.settings.redis_host.value, rg.NodeGroups![0].PrimaryEndpoint!.Address);
  assert.equal(install.settings.redis_port.value, '6379');
  assert.equal(install.settings.redis_use_tls.value, '1');
  assert.equal(install.settings.redis_use_password_auth.value, '1');
  assert.ok(install.secretSettings.redis_pass && install.secretSettings.enc_password);
  assert.equal(install.replicatedConf.ReleaseSequence, 528);
  assert.ok(install.installArgs.includes('disable-replicated-ui'));
  for (const secret of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword, process.env.REDIS_PASSWORD ?? 'unset-redis-password']) {
    assert.ok(!script.includes(secret), 'a secret value is in the user data');
    assert.ok(!script.includes(Buffer.from(secret).toString('base64')), 'a base64 secret value is in the user data');
  }

  // Both nodes healthy on Redis; the simulator saw 1 -> 0 -> 1 -> 0 -> 2.
  const sim = await simState();
  const healthy = sim.nodes.filter((n) => n.state === 'healthy');
  assert.equal(healthy.length, 2, JSON.stringify(sim.nodes));
  assert.deepEqual(sim.scaleHistory.tfe, [1, 0, 1, 0, 2]);
  const history = (await asgHistory(process.env.AWS_ENDPOINT_URL!, 'tfe')).map((h) => h.to);
  assert.deepEqual(history, [1, 0, 1, 0, 2]);

  // Status: conditions and observedGeneration.
  assert.equal(ready.status?.observedGeneration, ready.metadata.generation);
  for (const t of ['Ready', 'Validated', 'RedisReady', 'SingleNodeHealthy', 'ReplicatedUIDisabled', 'ScaledOut']) {
    const cond = ready.status?.conditions?.find((x) => x.type === t);
    assert.equal(cond?.status, 'True', `${t}: ${JSON.stringify(cond)}`);
    assert.equal(cond?.observedGeneration, ready.metadata.generation);
  }
  assert.equal(ready.status?.conditions?.find((x) => x.type === 'Degraded')?.status, 'False');
  assert.equal(ready.status?.nodes?.ready, 2);
  assert.match(ready.status?.encryptionPasswordFingerprint ?? '', /^hmac-sha256:[0-9a-f]+$/);

  // Events in order: steps start in order, and the actions appear between them.
  const events = await eventsOf(k, 'tfe', c.metadata.name!);
  const started = events.filter((e) => e.reason === 'StepStarted').map((e) => e.message);
  const order = ['step Validate started', 'step Redis started', 'step SingleNode started', 'step ScaleOut started', 'step Done started'];
  assert.deepEqual(started.filter((m) => order.includes(m!)), order);
  const reasons = events.map((e) => e.reason);
  assert.ok(reasons.indexOf('CreateReplicationGroup') < reasons.lastIndexOf('RollAsg'));
  assert.ok(events.every((e) => !String(e.message).includes(SECRET_VALUES.encPassword)));

  // Exactly one replication group and two new launch template versions were created.
  // Only the operator's calls (its SDK user agent names it), not the world seeding's.
  const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => `${x.userAgent} ${x.amzUserAgent}`.includes('tfe-operator/'));
  assert.equal(calls.filter((x) => x.action === 'CreateReplicationGroup').length, 1);
  assert.equal(calls.filter((x) => x.action === 'CreateLaunchTemplateVersion').length, 2);
});
