// Day 2, end to end: hand edits made after Ready (the ASG's size, its launch template version,
// a security group rule) are noticed on the next resync (--resync 1000 here) and restored
// (driftPolicy Correct, network.mode Manage) or only reported (driftPolicy Report, network.mode
// Verify). Each one is visible: a Drifted condition and a Warning Event.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import type { TfeCluster } from '../../src/api/types.ts';
import { describeAsg, eventsOf } from './support.ts';
import {
  asgMark,
  assertQuiet,
  callMark,
  condition,
  countCalls,
  handAws,
  k,
  migrate,
  mutationsSince,
  NAME,
  NS,
  patchSpec,
  scalesSince,
  stopOperator,
  waitFor,
  waitReady,
} from './day2.ts';

const NODES_SG = 'sg-eb56ced34f950ee7a'; // seeded security group tfe-nodes (examples/tfecluster.yaml)
const hand = handAws();
let version: string;
let ltId: string;

before(async () => {
  const ready = await migrate('day2-drift', (c) => (c.spec.network = { ...c.spec.network, mode: 'Manage' } as never));
  version = String(ready.status!.launchTemplate!.currentVersion);
  ltId = ready.status!.launchTemplate!.id!;
});
after(stopOperator);

/** Drifted turned True at some point after `since`, and is False again now (restored). */
async function driftEvents(since: string) {
  const events = await eventsOf(k, NS, NAME);
  return events.filter((e) => e.reason === 'Drifted' && e.type === 'Warning' && String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp) >= since);
}

const drifted = (c: TfeCluster) => condition(c, 'Drifted');

async function port8800Rules(): Promise<number> {
  const out = await hand.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [NODES_SG] }));
  return (out.SecurityGroups![0].IpPermissions ?? []).filter((p) => p.FromPort === 8800).length;
}

const open8800 = () =>
  hand.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: NODES_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8800, ToPort: 8800, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));

test('ASG size set by hand (2 -> 1) is restored to 2, reported as Drifted', async () => {
  const mark = await asgMark();
  const calls = await callMark();
  const t0 = new Date(Date.now() - 1000).toISOString();
  await hand.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', MinSize: 1, DesiredCapacity: 1 }));

  const seen = await waitFor((x) => drifted(x)?.status === 'True', 'Drifted=True');
  assert.equal(drifted(seen)?.reason, 'DriftCorrected');
  assert.match(drifted(seen)!.message, /size is min 1 \/ max 2 \/ desired 1, not 2/);
  const c = await waitFor((x) => x.status?.phase === 'Ready' && drifted(x)?.status === 'False' && (x.status.nodes?.ready ?? 0) === 2, 'Ready with 2 healthy nodes again');
  assert.equal(drifted(c)?.reason, 'DriftRestored', 'the last restore stays readable in the condition');
  assert.match(drifted(c)!.message, /size is min 1/);

  const g = await describeAsg();
  assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [2, 2, 2]);
  assert.equal(g.LaunchTemplate?.Version, version);
  assert.deepEqual(await scalesSince(mark), [[2, 1], [1, 2]], 'the hand edit, then the restore');
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calls), 0);
  assert.equal((await driftEvents(t0)).length, 1, 'one Warning Event Drifted');
});

test('launch template version set back by hand is restored, with no scaling', async () => {
  const mark = await asgMark();
  const t0 = new Date(Date.now() - 1000).toISOString();
  await hand.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' } }));

  await waitFor((x) => (x.status?.conditions ?? []).some((d) => d.type === 'Drifted' && d.reason === 'DriftRestored' && /launches from version 1/.test(d.message)), 'the version drift restored');
  const g = await describeAsg();
  assert.equal(g.LaunchTemplate?.Version, version);
  assert.deepEqual(await scalesSince(mark), []);
  assert.equal((await driftEvents(t0)).length >= 1, true);
  await waitReady();
});

test('port 8800 opened by hand on tfe-nodes (network.mode Manage) is closed again, reported as Drifted', async () => {
  const calls = await callMark();
  const t0 = new Date(Date.now() - 1000).toISOString();
  await open8800();
  assert.equal(await port8800Rules(), 1);

  const c = await waitFor((x) => drifted(x)?.reason === 'DriftRestored' && /8800/.test(drifted(x)!.message) && x.status?.phase === 'Ready', 'the 8800 rule drift restored');
  assert.equal(await port8800Rules(), 0, 'the rule was revoked');
  const changes = (await mutationsSince(calls)).map((x) => x.action);
  assert.deepEqual(changes.filter((a) => a !== 'AuthorizeSecurityGroupIngress'), ['RevokeSecurityGroupIngress']);
  assert.equal(condition(c, 'Degraded')?.status, 'False');
  const events = await driftEvents(t0);
  assert.ok(events.some((e) => /8800/.test(String(e.message))), JSON.stringify(events.map((e) => e.message)));
});

test('driftPolicy Report: a hand-set size is reported, not restored; Correct restores it', async () => {
  await patchSpec({ rollout: { driftPolicy: 'Report' } });
  await waitReady();
  const mark = await asgMark();
  await hand.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', MaxSize: 3, DesiredCapacity: 3 }));
  const calls = await callMark();

  const c = await waitFor((x) => drifted(x)?.reason === 'DriftReported', 'Drifted=True DriftReported');
  assert.equal(drifted(c)?.status, 'True');
  assert.equal(c.status?.phase, 'Ready');
  assert.match(c.status!.message!, /set spec\.rollout\.driftPolicy to Correct/);
  await assertQuiet(calls, 3_000, 'driftPolicy Report');
  assert.deepEqual(await scalesSince(mark), [[2, 3]]);

  await patchSpec({ rollout: { driftPolicy: 'Correct' } });
  await waitFor((x) => x.status?.phase === 'Ready' && drifted(x)?.status === 'False', 'restored after driftPolicy Correct');
  assert.deepEqual(await scalesSince(mark), [[2, 3], [3, 2]]);
});

test('network.mode Verify: port 8800 opened by hand is reported (Drifted, Degraded NetworkNotReady), not closed', async () => {
  await patchSpec({ network: { mode: 'Verify' } });
  await waitReady();
  await open8800();
  const calls = await callMark();

  const c = await waitFor((x) => drifted(x)?.status === 'True' && x.status?.phase === 'Degraded', 'Drifted and Degraded');
  assert.equal(drifted(c)?.reason, 'DriftReported');
  assert.equal(condition(c, 'Degraded')?.reason, 'NetworkNotReady');
  assert.match(c.status!.message!, /port 8800 \(Replicated admin console\) is open on sg-/);
  await assertQuiet(calls, 3_000, 'network.mode Verify');
  assert.equal(await port8800Rules(), 1);

  // Closed by hand: Ready again.
  await hand.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: NODES_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8800, ToPort: 8800, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  const ready = await waitReady('Ready once the rule is closed');
  assert.equal(drifted(ready)?.status, 'False');
});
