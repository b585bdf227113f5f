// Day 2 safety, end to end: nodes that never turn healthy. failurePolicy Rollback returns the
// Auto Scaling Group to the version that last served (the baseline during the migration, the
// last good version after it) and holds there; failurePolicy Pause stops Degraded and
// changes nothing more.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_ABORT, type TfeCluster } from '../../src/api/types.ts';
import { patchCluster } from '../../src/kube/client.ts';
import { createCluster, describeAsg, exampleCluster, simState } from './support.ts';
import {
  assertQuiet,
  callMark,
  condition,
  countCalls,
  freshWorld,
  k,
  migrate,
  mutationsSince,
  NAME,
  NS,
  patchSpec,
  scalesSince,
  asgMark,
  simConfig,
  startOperator,
  stopOperator,
  waitFor,
  waitReady,
  INSTALL_DELAY_MS,
} from './day2.ts';

afterEach(async () => {
  await stopOperator();
  await simConfig({ neverHealthy: false });
});

const shortDeadline = (policy: 'Pause' | 'Rollback') => (c: TfeCluster) => {
  c.spec.health = { ...c.spec.health, timeout: '10s' } as never;
  c.spec.rollout = { ...c.spec.rollout, failurePolicy: policy } as never;
};

test('Rollback: the single node never turns healthy -> back to the baseline version with one healthy node, RolledBack, held', async () => {
  await freshWorld();
  await simConfig({ neverHealthy: true });
  await startOperator('day2-rollback');
  const started = Date.now();
  await createCluster(k, exampleCluster(shortDeadline('Rollback')));

  // Past health.timeout the operator rolls back. The old version works: let the simulator say so.
  let c = await waitFor((x) => x.status?.phase === 'RollingBack', 'phase RollingBack');
  assert.ok(Date.now() - started >= 10_000, 'rolled back before health.timeout (10s) had passed');
  assert.equal(condition(c, 'Degraded')?.reason, 'ProgressDeadlineExceeded');
  assert.match(condition(c, 'Degraded')!.message, /waiting for 1 healthy node.*gave up after 10s/);
  await simConfig({ neverHealthy: false });

  c = await waitFor((x) => x.status?.phase === 'RolledBack', 'phase RolledBack');
  const g = await describeAsg();
  assert.equal(g.LaunchTemplate?.Version, '1', 'back on the baseline launch template version');
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [1, 1, 1]);
  assert.equal(g.Instances?.length, 1);
  const sim = await simState();
  const node = sim.nodes.find((n) => n.id === g.Instances![0].InstanceId);
  assert.equal(node?.state, 'healthy', JSON.stringify(sim.nodes));
  assert.equal(node?.version, 1);
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1], [1, 0], [0, 1]]);
  assert.match(c.status!.message!, /rolled back to launch template version 1 with 1 node\(s\)/);
  assert.equal(condition(c, 'Ready')?.status, 'False');
  // Why it rolled back stays visible after the rollback.
  assert.equal(condition(c, 'Degraded')?.status, 'True');
  assert.equal(condition(c, 'Degraded')?.reason, 'ProgressDeadlineExceeded');

  // Held: the failed rollout is not retried while the spec stays the same.
  await assertQuiet(await callMark(), 4_000, 'RolledBack');

  // A spec change (a longer health timeout) retries it; now the nodes are fine.
  await patchSpec({ health: { timeout: '2m' } });
  c = await waitReady('Ready after the retry');
  assert.equal(condition(c, 'Degraded')?.status, 'False');
  assert.deepEqual((await scalesSince()).slice(4), [[1, 0], [0, 1], [1, 0], [0, 2]]);
});

test('Pause: the single node never turns healthy -> Degraded ProgressDeadlineExceeded, no AWS change afterwards; healing continues', async () => {
  await freshWorld();
  await simConfig({ neverHealthy: true });
  await startOperator('day2-pause-policy');
  await createCluster(k, exampleCluster(shortDeadline('Pause')));

  let c = await waitFor((x) => x.status?.phase === 'Degraded', 'phase Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'ProgressDeadlineExceeded');
  assert.match(c.status!.message!, /waiting for 1 healthy node\(s\) on launch template version 2 .*gave up after 10s/);
  assert.equal(condition(c, 'Ready')?.status, 'False');
  assert.equal(condition(c, 'Progressing')?.status, 'False');

  // Nothing more changes, though the operator keeps looking (resync every second).
  await assertQuiet(await callMark(), 5_000, 'Degraded with failurePolicy Pause');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1]], 'the failed node is left as it is for inspection');
  c = await waitFor((x) => x.status?.phase === 'Degraded', 'still Degraded');

  // The cause goes away: the operator carries on from the world as it is.
  await simConfig({ neverHealthy: false });
  await waitReady('Ready once the node is healthy');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1], [1, 0], [0, 2]]);
});

test('Rollback after Ready: a change whose canary never turns healthy (same release) -> back to the last good version with all nodes', async () => {
  const ready = await migrate('day2-upgrade-rollback', shortDeadline('Rollback'));
  const lastGood = ready.status!.launchTemplate!.currentVersion!;
  const versionsBefore = await countCalls('CreateLaunchTemplateVersion');
  const mark = await asgMark();

  await simConfig({ neverHealthy: true });
  await patchSpec({ node: { installArgs: ['no-proxy', 'fast-timeouts'] } });
  await waitFor((x) => x.status?.phase === 'RollingBack', 'phase RollingBack');
  await simConfig({ neverHealthy: false });
  const c = await waitFor((x) => x.status?.phase === 'RolledBack', 'phase RolledBack');

  const g = await describeAsg();
  assert.equal(g.LaunchTemplate?.Version, String(lastGood), 'back on the last good version, not the baseline');
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [2, 2, 2]);
  assert.equal(await countCalls('CreateLaunchTemplateVersion'), versionsBefore + 1, 'one version for the change');
  // 2 -> 0 -> 1 (canary, never healthy) -> 0 -> 2 (rollback onto the last good version)
  assert.deepEqual(await scalesSince(mark), [[2, 0], [0, 1], [1, 0], [0, 2]]);
  await waitFor((x) => (x.status?.nodes?.ready ?? 0) === 2, 'both nodes healthy after the rollback');
  assert.equal(c.status?.launchTemplate?.lastGoodVersion, lastGood);
  assert.equal(condition(c, 'Degraded')?.status, 'True');

  // Going back to what runs is a spec change, and it is simply Ready.
  const calm = await callMark();
  await patchSpec({ node: { installArgs: null } });
  await waitReady('Ready on the last good version');
  assert.deepEqual((await scalesSince(mark)).length, 4, 'no more scaling');
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calm), 0);
});

test('Rollback never downgrades: a release upgrade whose canary never turns healthy holds Degraded RollbackWouldDowngrade; once the canary is healthy the upgrade carries on', async () => {
  await startOperator('day2-no-downgrade');
  await waitReady('Ready (left so by the previous test)');
  const c0 = await waitFor(() => true, 'the cluster');
  const upgraded = c0.status!.launchTemplate!.currentVersion!;
  const mark = await asgMark();
  await simConfig({ neverHealthy: true });
  await patchSpec({ release: { sequence: 550 } });
  const c = await waitFor((x) => condition(x, 'Degraded')?.reason === 'RollbackWouldDowngrade', 'Degraded RollbackWouldDowngrade');
  const canary = (await describeAsg()).LaunchTemplate!.Version!;
  assert.ok(Number(canary) > upgraded, `the canary runs a new version (${canary})`);
  assert.match(c.status!.message!, new RegExp(`rolling back to launch template version ${upgraded} would install release sequence 528 over a database that release sequence 550 \\(version ${canary}\\) may already have migrated`));
  // The canary stays for inspection; nothing rolls back to the older release.
  await assertQuiet(await callMark(), 4_000, 'RollbackWouldDowngrade');
  assert.deepEqual(await scalesSince(mark), [[2, 0], [0, 1]]);
  assert.equal((await describeAsg()).LaunchTemplate?.Version, canary);
  // Fixed forward: the canary turns healthy and the upgrade completes.
  await simConfig({ neverHealthy: false });
  await waitReady('Ready on release 550');
  assert.deepEqual(await scalesSince(mark), [[2, 0], [0, 1], [1, 2]]);
});

test('abort on a Ready cluster: nothing to roll back, so nothing is repaved; removing the annotation carries on', async () => {
  await startOperator('day2-abort-ready');
  await waitReady('Ready (left so by the previous test)');
  const calls = await callMark();
  await patchCluster(k, NS, NAME, { metadata: { annotations: { [ANNOTATION_ABORT]: 'true' } } });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'phase Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'Aborted');
  assert.match(c.status!.message!, /nothing to roll back\. Remove the annotation tfe\.operators\.dev\/abort to carry on/);
  await assertQuiet(calls, 3_000, 'abort on a Ready cluster');
  await patchCluster(k, NS, NAME, { metadata: { annotations: { [ANNOTATION_ABORT]: null } } });
  await waitReady('Ready once the annotation is gone');
  assert.deepEqual((await mutationsSince(calls)).map((x) => x.action), []);
});

test('abort mid-migration: back to the baseline version with one healthy node, RolledBack (reason Aborted)', async () => {
  await freshWorld();
  await simConfig({ installDelayMs: 600_000 }); // the single node keeps installing
  await startOperator('day2-abort');
  await createCluster(k, exampleCluster());
  await waitFor((x) => x.status?.step === 'SingleNode' && /^healthy:/.test(x.status?.wait?.id ?? ''), 'the single node installing');
  await patchCluster(k, NS, NAME, { metadata: { annotations: { [ANNOTATION_ABORT]: 'true' } } });
  await waitFor((x) => x.status?.phase === 'RollingBack', 'phase RollingBack');
  await simConfig({ installDelayMs: INSTALL_DELAY_MS });
  const c = await waitFor((x) => x.status?.phase === 'RolledBack', 'phase RolledBack');
  assert.equal(condition(c, 'Degraded')?.reason, 'Aborted');
  const g = await describeAsg();
  assert.equal(g.LaunchTemplate?.Version, '1');
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [1, 1, 1]);
  await waitFor((x) => x.status?.nodes?.ready === 1, 'the baseline node healthy');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1], [1, 0], [0, 1]]);
  await assertQuiet(await callMark(), 3_000, 'RolledBack after abort');
});
