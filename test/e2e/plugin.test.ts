// The kubectl plugin against the sandbox, run the way a person runs it: `kubectl tfe ...`,
// kubectl finding `kubectl-tfe` on PATH. The TfeCluster uses spec.rollout.approval Manual, so
// the operator stops at known gates; the test reads the plugin's output there and checks that
// pause / approve / resume / abort change exactly what they say.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { resetWorld } from '../harness.ts';
import { awsCalls } from '../sandbox/moto.ts';
import { kubectlPath } from '../sandbox/controlplane-bin.ts';
import { SECRET_VALUES } from '../sandbox/world.ts';
import { ROOT, type OperatorProcess } from '../operator-process.ts';
import { isReadOperation } from '../../src/aws/clients.ts';
import type { TfeCluster } from '../../src/api/types.ts';
import { createCluster, describeAsg, exampleCluster, getCluster, kube, operator, replicationGroup, waitFor } from './support.ts';

const k = kube();
const NS = 'tfe';
const NAME = 'tfe';
let op: OperatorProcess | undefined;
let pluginDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl tfe <args>` with the plugin on PATH under its real name, as a user installs it. */
function kubectlTfe(...args: string[]): Promise<Run> {
  const kubectl = kubectlPath();
  const env = { ...process.env, PATH: [pluginDir, dirname(process.execPath), process.env.PATH].join(delimiter), NO_COLOR: '1' };
  return new Promise((resolve, reject) => {
    execFile(kubectl, ['tfe', ...args], { env, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') reject(new Error(`kubectl tfe ${args.join(' ')}: ${err?.message}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectlTfe(...args);
  assert.equal(r.code, 0, `kubectl tfe ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function assertNoSecrets(text: string) {
  for (const secret of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword, process.env.REDIS_PASSWORD].filter((s): s is string => !!s)) {
    assert.ok(!text.includes(secret), 'a secret value is in the plugin output');
  }
}

/** The line of the status tree that names a step. */
function stepLine(out: string, step: string): string {
  const line = out.split('\n').find((l) => new RegExp(`[✓▶·✗] ${step}\\b`).test(l));
  assert.ok(line, `no line for step ${step} in:\n${out}`);
  return line;
}

const waitingFor = (id: string) => (c: TfeCluster) =>
  c.status?.phase === 'WaitingForApproval' && c.status.approval?.waitingFor === id && c.status.observedGeneration === c.metadata.generation;

before(async () => {
  await resetWorld();
  pluginDir = mkdtempSync(join(tmpdir(), 'kubectl-tfe-'));
  symlinkSync(join(ROOT, 'bin', 'kubectl-tfe.js'), join(pluginDir, 'kubectl-tfe'));
  op = await operator('plugin-e2e');
  await createCluster(
    k,
    exampleCluster((c) => {
      c.spec.rollout = { ...c.spec.rollout, approval: 'Manual', failurePolicy: 'Pause' } as TfeCluster['spec']['rollout'];
    }),
  );
});

after(async () => {
  await op?.stop();
  if (pluginDir) rmSync(pluginDir, { recursive: true, force: true });
});

test('kubectl finds the plugin and lists the namespace', async () => {
  const list = await kubectlTfe('--help');
  assert.equal(list.code, 0, list.stderr);
  for (const cmd of ['status', 'plan', 'pause', 'resume', 'approve', 'abort']) assert.match(list.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'));
});

test('status at the first approval gate: a tree of steps, nodes, Redis, launch template, approval', async () => {
  const c = await waitFor(k, NS, NAME, waitingFor('roll-v2-to-0'), 120_000, 'the gate roll-v2-to-0');
  const out = await ok('status', NAME, '-n', NS);
  assertNoSecrets(out);

  assert.match(out.split('\n')[0], /^TfeCluster tfe\/tfe\s+WaitingForApproval\s+step SingleNode/);
  assert.match(stepLine(out, 'Validate'), /^\W*✓ Validate\s+settings, Auto Scaling Group, launch template, external services and network are ready/);
  const rg = await replicationGroup(c.spec.redis.elastiCache!.replicationGroupId);
  const endpoint = rg.NodeGroups![0].PrimaryEndpoint!.Address!;
  assert.match(stepLine(out, 'Redis'), new RegExp(`✓ Redis\\s+Redis at ${endpoint.replace(/\./g, '\\.')}:6379`));
  assert.match(stepLine(out, 'SingleNode'), /▶ SingleNode\s+approve roll-v2-to-0 to point the Auto Scaling Group at launch template version 2/);
  assert.match(stepLine(out, 'ScaleOut'), /· ScaleOut\s+not started/);
  assert.match(stepLine(out, 'Done'), /· Done/);

  // Nodes: the one standalone node, from the ASG, healthy, on the baseline version.
  const asg = await describeAsg();
  assert.equal(asg.Instances?.length, 1);
  const instance = asg.Instances![0].InstanceId!;
  assert.match(out, /Nodes\s+1 ready of 2 desired, 1 running/);
  assert.match(out, new RegExp(`✓ ${instance}\\s+healthy\\s+launch template v1`));

  assert.match(out, new RegExp(`Redis\\s+${endpoint.replace(/\./g, '\\.')}:6379\\s+\\(ElastiCache tfe-redis, created by the operator\\)`));
  assert.match(out, new RegExp(`Launch template\\s+${asg.LaunchTemplate!.LaunchTemplateId}: baseline v1, current v1, last good v1`));
  assert.match(out, /Approval\s+waiting for roll-v2-to-0: point the Auto Scaling Group at launch template version 2 and scale to 0/);
  assert.match(out, /approve: kubectl tfe approve tfe -n tfe/);
  assert.match(out, /Last action\s+CreateLaunchTemplateVersion \d+\S* ago: created launch template version 2/);

  // Without a name, the only TfeCluster of the namespace is shown the same way.
  const bare = await ok('status', '-n', NS);
  assert.match(bare, /▶ SingleNode/);
});

test('plan at the gate: what the operator would do next, from the live world, changing nothing', async () => {
  const before = await getCluster(k, NS, NAME);
  const calls0 = await awsCalls(process.env.AWS_ENDPOINT_URL!);
  const since = calls0.length ? calls0[calls0.length - 1].seq : 0;

  const out = await ok('plan', NAME, '-n', NS);
  assertNoSecrets(out);
  assert.match(out, /^TfeCluster tfe\/tfe: WaitingForApproval \(step SingleNode\)$/m);
  assert.match(out, /next action: none/);
  assert.match(out, /waiting for approval: roll-v2-to-0 \(point the Auto Scaling Group at launch template version 2 and scale to 0\)/);
  assert.match(out, /read-only: nothing was changed/);

  const json = JSON.parse(await ok('plan', NAME, '-n', NS, '-o', 'json'));
  assert.equal(json.phase, 'WaitingForApproval');
  assert.equal(json.step, 'SingleNode');
  assert.equal(json.action, null);
  assert.equal(json.approval.waitingFor, 'roll-v2-to-0');
  assertNoSecrets(JSON.stringify(json));

  // It read AWS (as kubectl-tfe) and wrote nothing: no mutating call, the object untouched.
  const mine = (await awsCalls(process.env.AWS_ENDPOINT_URL!, { since })).filter((c) => (c.userAgent ?? '').includes('kubectl-tfe/plan'));
  assert.ok(mine.some((c) => c.action === 'DescribeAutoScalingGroups'), 'plan did not read the Auto Scaling Group');
  assert.deepEqual(mine.filter((c) => !isReadOperation(c.action ?? '')).map((c) => c.action), []);
  const afterPlan = await getCluster(k, NS, NAME);
  assert.equal(afterPlan.metadata.resourceVersion, before.metadata.resourceVersion);
});

test('pause, approve while paused, resume: the object changes as the commands say', async () => {
  const paused = await ok('pause', NAME, '-n', NS);
  assert.match(paused, /^paused TfeCluster tfe\/tfe/);
  let c = await getCluster(k, NS, NAME);
  assert.equal(c.spec.rollout?.paused, true);
  assert.match(await ok('pause', NAME, '-n', NS), /already paused/);

  // The gate still waits (approval comes before the pause check); approve sets the annotation
  // to exactly the id the status shows.
  c = await waitFor(k, NS, NAME, waitingFor('roll-v2-to-0'), 60_000, 'the gate after pausing');
  const approved = await ok('approve', NAME, '-n', NS);
  assert.match(approved, /^approved roll-v2-to-0 on TfeCluster tfe\/tfe: point the Auto Scaling Group at launch template version 2 and scale to 0/);
  c = await getCluster(k, NS, NAME);
  assert.equal(c.metadata.annotations?.['tfe.operators.dev/approve'], 'roll-v2-to-0');

  // Approved but paused: the operator holds before the action; nothing moved in AWS.
  c = await waitFor(k, NS, NAME, (x) => x.status?.phase === 'Paused' && x.status.observedGeneration === x.metadata.generation, 60_000, 'Paused');
  const asg = await describeAsg();
  assert.equal(asg.DesiredCapacity, 1);
  assert.equal(asg.LaunchTemplate?.Version, '1');
  const status = await ok('status', NAME, '-n', NS);
  assert.match(status.split('\n')[0], /Paused\s+step SingleNode/);
  assert.match(status, /Paused\s+spec\.rollout\.paused is true; resume: kubectl tfe resume tfe -n tfe/);

  assert.match(await ok('resume', NAME, '-n', NS), /^resumed TfeCluster tfe\/tfe/);
  c = await getCluster(k, NS, NAME);
  assert.equal(c.spec.rollout?.paused, false);
  assert.match(await ok('resume', NAME, '-n', NS), /is not paused/);

  // Resumed: the approved roll happens, and the next gate is the single node start.
  c = await waitFor(k, NS, NAME, waitingFor('scale-to-1'), 120_000, 'the gate scale-to-1');
  const rolled = await describeAsg();
  assert.equal(rolled.LaunchTemplate?.Version, '2');
  assert.equal(rolled.DesiredCapacity, 0);
  assert.match(await ok('approve', NAME, '-n', NS), /^approved scale-to-1 on TfeCluster tfe\/tfe/);
  assert.equal((await getCluster(k, NS, NAME)).metadata.annotations?.['tfe.operators.dev/approve'], 'scale-to-1');
  await waitFor(k, NS, NAME, (x) => (x.status?.nodes?.instances ?? []).length === 1 && x.status?.launchTemplate?.currentVersion === 2, 120_000, 'one node on version 2');
});

test('approve says clearly when nothing waits; status shows a failed TfeCluster', async () => {
  // A second TfeCluster on the same Auto Scaling Group is refused (one owner per group): it
  // fails validation and waits for nothing.
  const other = exampleCluster((c) => {
    c.metadata.name = 'tfe-other';
  });
  await createCluster(k, other);
  await waitFor(k, NS, 'tfe-other', (x) => x.status?.phase === 'Degraded', 60_000, 'tfe-other Degraded');

  const r = await kubectlTfe('approve', 'tfe-other', '-n', NS);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: nothing to approve: TfeCluster tfe\/tfe-other is not waiting for approval; it is Degraded \(step Validate\)/);
  assert.equal((await getCluster(k, NS, 'tfe-other')).metadata.annotations?.['tfe.operators.dev/approve'], undefined);

  const status = await ok('status', 'tfe-other', '-n', NS);
  assert.match(status, /✗ Degraded\s+OwnedElsewhere: Auto Scaling Group tfe is managed by TfeCluster tfe\/tfe/);
  assert.match(stepLine(status, 'Validate'), /✗ Validate/);

  // Two TfeClusters: without a name, a table.
  const list = await ok('status', '-n', NS);
  assert.match(list, /^NAME\s+PHASE\s+STEP\s+NODES/m);
  assert.match(list, /^tfe\s+\S+\s+\S+/m);
  assert.match(list, /^tfe-other\s+Degraded\s+Validate/m);

  const missing = await kubectlTfe('status', 'nope', '-n', NS);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /TfeCluster tfe\/nope not found/);
});

test('abort asks for --yes, then requests the rollback, and the operator rolls back', async () => {
  const refused = await kubectlTfe('abort', NAME, '-n', NS);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /rolls back to launch template version 1/);
  assert.match(refused.stderr, /Nothing was changed\. To go ahead: kubectl tfe abort tfe -n tfe --yes/);
  assert.equal((await getCluster(k, NS, NAME)).metadata.annotations?.['tfe.operators.dev/abort'], undefined);

  const yes = await ok('abort', NAME, '-n', NS, '--yes');
  assert.match(yes, /^abort requested on TfeCluster tfe\/tfe/);
  assert.equal((await getCluster(k, NS, NAME)).metadata.annotations?.['tfe.operators.dev/abort'], 'true');
  assert.match(await ok('status', NAME, '-n', NS), /Abort requested\s+annotation tfe\.operators\.dev\/abort=true/);

  // Rolling back is disruptive, so with approval Manual it may wait at a gate: approve those.
  const deadline = Date.now() + 180_000;
  let c = await getCluster(k, NS, NAME);
  while (c.status?.phase !== 'RolledBack' && Date.now() < deadline) {
    if (c.status?.phase === 'WaitingForApproval' && c.status.approval && c.metadata.annotations?.['tfe.operators.dev/approve'] !== c.status.approval.waitingFor) {
      await ok('approve', NAME, '-n', NS);
    }
    await new Promise((r) => setTimeout(r, 300));
    c = await getCluster(k, NS, NAME);
  }
  assert.equal(c.status?.phase, 'RolledBack', `not rolled back: ${c.status?.message}`);
  const asg = await describeAsg();
  assert.equal(asg.LaunchTemplate?.Version, '1');
  const status = await ok('status', NAME, '-n', NS);
  assert.match(status.split('\n')[0], /RolledBack\s+step Rollback/);
  assert.match(status, /✓ Rollback\s+rolled back to launch template version 1/);
});
