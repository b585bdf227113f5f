// Day 2, end to end: a release upgrade repaves with a canary (2 -> 0 -> 1 -> 2) onto a new
// launch template version and ends Ready; a downgrade is refused and changes nothing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserData } from '../../src/tfe/userdata.ts';
import { asgHistory } from '../sandbox/moto.ts';
import { describeAsg, simState, userDataOf } from './support.ts';
import {
  asgMark,
  assertQuiet,
  callMark,
  condition,
  countCalls,
  migrate,
  patchSpec,
  scalesSince,
  stopOperator,
  waitFor,
  waitReady,
} from './day2.ts';

let from: number;

before(async () => {
  const ready = await migrate('day2-upgrade');
  from = ready.status!.launchTemplate!.currentVersion!;
});
after(stopOperator);

test('upgrade 528 -> 550: canary repave 2 -> 0 -> 1 -> 2 onto a new launch template version, then Ready', async () => {
  const mark = await asgMark();
  const calls = await callMark();
  await patchSpec({ release: { sequence: 550 } });

  const ready = await waitReady('Ready on release 550');
  const g = await describeAsg();
  const to = Number(g.LaunchTemplate!.Version);
  assert.ok(to > from, `a new launch template version (${from} -> ${to})`);
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [2, 2, 2]);
  assert.equal(ready.status?.launchTemplate?.currentVersion, to);
  assert.equal(ready.status?.launchTemplate?.lastGoodVersion, to);
  assert.deepEqual(await scalesSince(mark), [[2, 0], [0, 1], [1, 2]]);
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calls), 1);

  const install = parseUserData(await userDataOf(g.LaunchTemplate!.LaunchTemplateId!, String(to)));
  assert.equal(install.replicatedConf.ReleaseSequence, 550);
  assert.equal(install.settings.enable_active_active.value, '1');
  assert.ok(install.installArgs.includes('disable-replicated-ui'));

  const sim = await simState();
  const healthy = sim.nodes.filter((n) => n.state === 'healthy');
  assert.equal(healthy.length, 2, JSON.stringify(sim.nodes));
  assert.ok(healthy.every((n) => n.version === to), JSON.stringify(sim.nodes));
  // The canary was healthy before the second node was asked for.
  const [canary] = [...healthy].sort((a, b) => String(a.bootedAt).localeCompare(String(b.bootedAt)));
  const scaleOut = (await asgHistory(process.env.AWS_ENDPOINT_URL!, { asg: 'tfe', since: mark })).find((h) => h.from === 1 && h.to === 2)!;
  assert.ok(Date.parse(canary.since) <= Date.parse(scaleOut.ts), `canary healthy at ${canary.since}, scale-out at ${scaleOut.ts}`);
  for (const t of ['Ready', 'ScaledOut', 'SingleNodeHealthy', 'ReplicatedUIDisabled']) assert.equal(condition(ready, t)?.status, 'True', t);
});

test('downgrade 550 -> 534 is refused: Degraded DowngradeRefused, nothing changes; back to 550 is Ready without a roll', async () => {
  const before = await describeAsg();
  const mark = await asgMark();
  const calls = await callMark();
  await patchSpec({ release: { sequence: 534 } });
  const c = await waitFor((x) => x.status?.phase === 'Degraded' && x.status.observedGeneration === x.metadata.generation, 'phase Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'DowngradeRefused');
  assert.match(c.status!.message!, /spec\.release\.sequence 534 is older than the running release sequence 550; TFE does not support downgrades: set spec\.release\.sequence to 550 or newer/);
  await assertQuiet(calls, 4_000, 'downgrade refused');
  const after = await describeAsg();
  assert.equal(after.LaunchTemplate?.Version, before.LaunchTemplate?.Version);
  assert.deepEqual(after.Instances?.map((i) => i.InstanceId).sort(), before.Instances?.map((i) => i.InstanceId).sort(), 'the same nodes still run');

  await patchSpec({ release: { sequence: 550 } });
  await waitReady('Ready again on 550');
  assert.deepEqual(await scalesSince(mark), []);
  assert.deepEqual(await countCalls('CreateLaunchTemplateVersion', calls), 0);
});
