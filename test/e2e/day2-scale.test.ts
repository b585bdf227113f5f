// Day 2, end to end: a node count change scales the Auto Scaling Group directly, with no
// repave and no new launch template version.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeAsg, simState } from './support.ts';
import { asgMark, callMark, condition, countCalls, migrate, patchSpec, scalesSince, stopOperator, waitReady } from './day2.ts';

let version: string;

before(async () => {
  const ready = await migrate('day2-scale');
  version = String(ready.status!.launchTemplate!.currentVersion);
});
after(stopOperator);

test('nodes 2 -> 3 -> 2: direct scaling (2->3, 3->2 only), the same launch template version throughout', async () => {
  const mark = await asgMark();
  const calls = await callMark();
  const before = new Set((await describeAsg()).Instances!.map((i) => i.InstanceId));

  await patchSpec({ nodes: 3 });
  let c = await waitReady('Ready with 3 nodes');
  let g = await describeAsg();
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [3, 3, 3]);
  assert.equal(g.LaunchTemplate?.Version, version);
  assert.equal(c.status?.nodes?.ready, 3);
  assert.equal(condition(c, 'ScaledOut')?.message, `3 of 3 nodes healthy on launch template version ${version}`);
  // The two nodes that ran before still run: a scale-out, not a repave.
  const now = g.Instances!.map((i) => i.InstanceId);
  assert.ok([...before].every((id) => now.includes(id)), 'an existing node was replaced');
  const sim = await simState();
  assert.equal(sim.nodes.filter((n) => n.state === 'healthy').length, 3, JSON.stringify(sim.nodes));

  await patchSpec({ nodes: 2 });
  c = await waitReady('Ready with 2 nodes');
  g = await describeAsg();
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [2, 2, 2]);
  assert.equal(g.LaunchTemplate?.Version, version);
  assert.equal(c.status?.nodes?.ready, 2);
  assert.equal(c.status?.launchTemplate?.lastGoodVersion, Number(version));

  assert.deepEqual(await scalesSince(mark), [[2, 3], [3, 2]]);
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calls), 0);
});
