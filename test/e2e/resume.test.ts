// Crash and resume: the operator is stopped right after every mutating action (the test-only
// switch TFE_OPERATOR_CRASH_AFTER='*' exits the process after each action succeeds) and
// started again; the migration completes with no duplicate resource or scale event.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asgHistory, awsCalls } from '../sandbox/moto.ts';
import { resetWorld } from '../harness.ts';
import { createCluster, exampleCluster, getCluster, isReady, killedAfterEveryAction, kube, simState } from './support.ts';

const k = kube();

before(async () => {
  await resetWorld();
});

test('killed after every action, restarted each time: completes without duplicates', async () => {
  const c = exampleCluster();
  await createCluster(k, c);
  const actions = await killedAfterEveryAction(k, 'tfe', c.metadata.name!, 'resume', 40);
  const final = await getCluster(k, 'tfe', c.metadata.name!);
  assert.ok(isReady(final), `not Ready: ${final.status?.message}`);
  // Every mutating action kind of the migration was interrupted at least once.
  for (const kind of ['TagAsg', 'CreateReplicationGroup', 'PutSecrets', 'CreateLaunchTemplateVersion', 'RollAsg', 'ScaleAsg']) {
    assert.ok(actions.includes(kind), `never crashed after ${kind}: ${actions.join(', ')}`);
  }
  // Only the operator's calls (its SDK user agent names it), not the world seeding's.
  const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => `${x.userAgent} ${x.amzUserAgent}`.includes('tfe-operator/'));
  const count = (a: string) => calls.filter((x) => x.action === a).length;
  assert.equal(count('CreateReplicationGroup'), 1);
  assert.equal(count('CreateLaunchTemplateVersion'), 2);
  assert.equal(count('CreateSecret'), 4);
  assert.deepEqual((await asgHistory(process.env.AWS_ENDPOINT_URL!, 'tfe')).map((h) => h.to), [1, 0, 1, 0, 2]);
  assert.deepEqual((await simState()).scaleHistory.tfe, [1, 0, 1, 0, 2]);
});
