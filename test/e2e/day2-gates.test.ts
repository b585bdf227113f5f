// Day 2 safety, end to end: a paused rollout and a manually approved rollout stop exactly
// before the next action, change nothing in AWS while they wait, and finish Ready once
// resumed or approved.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCluster, exampleCluster } from './support.ts';
import {
  approve,
  assertQuiet,
  callMark,
  condition,
  freshWorld,
  k,
  patchSpec,
  scalesSince,
  simConfig,
  startOperator,
  stopOperator,
  waitFor,
  waitReady,
  INSTALL_DELAY_MS,
} from './day2.ts';

afterEach(stopOperator);

test('paused: stops before the first action, and again mid-migration before the next one; resumes to Ready', async () => {
  await freshWorld();
  const seeded = await callMark();
  await startOperator('day2-pause');
  await createCluster(k, exampleCluster((c) => (c.spec.rollout = { ...c.spec.rollout, paused: true } as never)));

  // Paused from the start: it says what it would do first, and does nothing.
  let c = await waitFor((x) => x.status?.phase === 'Paused', 'phase Paused before the first action');
  assert.match(c.status!.message!, /paused \(spec\.rollout\.paused\) before the next action: tag the Auto Scaling Group/);
  assert.equal(condition(c, 'Paused')?.status, 'True');
  await assertQuiet(seeded, 3_000, 'paused before the first action');

  // Resume with a node that takes long to install, and pause again while it installs.
  await simConfig({ installDelayMs: 600_000 });
  await patchSpec({ rollout: { paused: false } });
  c = await waitFor((x) => x.status?.step === 'SingleNode' && /^healthy:/.test(x.status?.wait?.id ?? ''), 'the single node to be installing');
  const singleVersion = c.status!.launchTemplate!.currentVersion!;
  c = await patchSpec({ rollout: { paused: true } });
  // While the wait runs, the status already says the rollout is paused.
  c = await waitFor((x) => condition(x, 'Paused')?.status === 'True' && x.status?.observedGeneration === x.metadata.generation, 'the Paused condition during a wait');
  assert.equal(c.status?.phase, 'Migrating', 'a wait in progress continues while paused');

  // The node turns healthy: the next action (the Active/Active launch template version) must not start.
  await simConfig({ installDelayMs: INSTALL_DELAY_MS });
  c = await waitFor((x) => x.status?.phase === 'Paused', 'phase Paused after the single node turned healthy');
  assert.match(c.status!.message!, /before the next action: create launch template version "tfe-operator active\/active/);
  assert.equal(condition(c, 'SingleNodeHealthy')?.status, 'True');
  const mark = await callMark();
  await assertQuiet(mark, 3_000, 'paused mid-migration');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1]], 'only the single-node roll happened');
  assert.equal(c.status!.launchTemplate!.currentVersion, singleVersion);

  await patchSpec({ rollout: { paused: false } });
  c = await waitReady();
  assert.equal(condition(c, 'Paused')?.status, 'False');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1], [1, 0], [0, 2]]);
});

test('manual approval: each disruptive action waits for its own approval, nothing moves meanwhile, then Ready', async () => {
  await freshWorld();
  await startOperator('day2-approval');
  await createCluster(k, exampleCluster((c) => (c.spec.rollout = { ...c.spec.rollout, approval: 'Manual' } as never)));

  // The gates of a migration, in order, with the ASG size each one finds.
  const expected: Array<[RegExp, number]> = [
    [/^roll-v2-to-0$/, 1],
    [/^scale-to-1$/, 0],
    [/^roll-v3-to-0$/, 1],
    [/^scale-to-2$/, 0],
  ];
  let previous = '';
  for (const [gate, sizeBefore] of expected) {
    const c = await waitFor(
      (x) => x.status?.phase === 'WaitingForApproval' && !!x.status.approval?.waitingFor && x.status.approval.waitingFor !== previous,
      `the approval gate ${gate}`,
    );
    const id = c.status!.approval!.waitingFor;
    assert.match(id, gate);
    assert.ok(c.status!.approval!.description, 'the gate says what it will do');
    assert.ok(c.status!.message!.endsWith(`run 'kubectl tfe approve tfe -n tfe' (sets annotation tfe.operators.dev/approve=${id})`), c.status!.message);
    assert.equal(condition(c, 'Progressing')?.reason, 'WaitingForApproval');
    const history = await scalesSince();
    assert.equal(history.at(-1)?.[1] ?? 1, sizeBefore, `ASG size before ${id}: ${JSON.stringify(history)}`);
    // The previous approval does not carry over to this gate.
    await assertQuiet(await callMark(), 2_000, `waiting for approval of ${id}`);
    assert.deepEqual(await scalesSince(), history);
    await approve(id);
    previous = id;
  }
  const ready = await waitReady();
  assert.equal(ready.status?.approval, undefined, 'no approval pending once Ready');
  assert.deepEqual(await scalesSince(), [[1, 0], [0, 1], [1, 0], [0, 2]]);
});
