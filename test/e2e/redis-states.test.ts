// Replication group states and auth tokens as AWS has them, on the default world:
//  - an auth token ElastiCache would refuse (a space; the AWS rules are in moto's patch and
//    in the planner) is refused before CreateReplicationGroup, naming the field, not the value;
//  - a replication group stays "creating" for a while (moto patch: redisCreateDelayMs), during
//    which AWS answers no tagging call: the operator asks none, waits, is never Degraded, and
//    reaches Ready.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mergePatch } from '../../src/kube/client.ts';
import { resetWorld } from '../harness.ts';
import { awsCalls, setMotoConfig } from '../sandbox/moto.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, operator, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
const AWS = process.env.AWS_ENDPOINT_URL!;
let op: OperatorProcess | undefined;

async function setToken(value: string): Promise<void> {
  await k.core.patchNamespacedSecret({ name: 'tfe-redis', namespace: 'tfe', body: { data: { token: Buffer.from(value).toString('base64') } } }, mergePatch);
}

before(async () => {
  await resetWorld();
});
after(async () => {
  await op?.stop();
  await setMotoConfig(AWS, { redisCreateDelayMs: 0 });
  await resetWorld();
});

test('an auth token ElastiCache would refuse: Degraded RedisAuthTokenInvalid before CreateReplicationGroup; the value never shown', async () => {
  const BAD = 'has a space and is long enough NOT-A-REAL-SECRET';
  await setToken(BAD);
  op = await operator('redis-token', {}, ['--resync', '2000']);
  const since = (await awsCalls(AWS)).at(-1)?.seq ?? 0;
  await createCluster(k, exampleCluster());
  const c = await waitFor(k, 'tfe', 'tfe', (x) => x.status?.phase === 'Degraded', 60_000, 'Degraded');
  const d = c.status!.conditions!.find((x) => x.type === 'Degraded')!;
  assert.equal(d.reason, 'RedisAuthTokenInvalid', d.message);
  assert.match(d.message, /spec\.redis\.elastiCache\.authTokenSecretRef/);
  assert.ok(!JSON.stringify(c.status).includes(BAD) && !JSON.stringify(c.status).includes('has a space'), 'the token is not in status');
  const calls = (await awsCalls(AWS, { since })).map((x) => x.action);
  assert.ok(!calls.includes('CreateReplicationGroup'), calls.join(', '));
  await op.stop();
  op = undefined;
});

test('a replication group "creating" for a while (AWS answers no tagging call then): waited for, never Degraded, then Ready', async () => {
  await resetWorld();
  await setMotoConfig(AWS, { redisCreateDelayMs: 6_000 });
  op = await operator('redis-creating', {}, ['--resync', '2000']);
  await createCluster(k, exampleCluster());
  const seen = new Set<string>();
  const deadline = Date.now() + 240_000;
  for (;;) {
    const c = await getCluster(k, 'tfe', 'tfe');
    if (c.status?.phase) seen.add(`${c.status.phase}/${c.status.step}: ${(c.status.message ?? '').replace(/\d+/g, 'N').slice(0, 80)}`);
    assert.notEqual(c.status?.phase, 'Degraded', c.status?.message);
    if (isReady(c)) break;
    assert.ok(Date.now() < deadline, `not Ready: ${[...seen].join(' | ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok([...seen].some((s) => /creating/i.test(s) && s.startsWith('Migrating/Redis')), [...seen].join(' | '));
  // AWS refuses tagging calls on a group that is not "available": the operator made none then.
  const tagging = (await awsCalls(AWS)).filter((x) => x.service === 'elasticache' && /Tags/.test(x.action ?? ''));
  assert.ok(tagging.some((x) => x.status === 200), 'the owner tags were read once the group was available');
  assert.deepEqual(tagging.filter((x) => x.status !== 200).map((x) => `${x.action} ${x.status}`), []);
});
