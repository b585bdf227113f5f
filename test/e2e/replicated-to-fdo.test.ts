// Replicated -> FDO, end to end in the default sandbox world: a standalone Replicated install on
// release sequence 811 (v202503-1, the last Replicated release) is moved to TFE on Docker
// (FDO) Active/Active on the same release by changing the TfeCluster to install Docker. The
// simulator's nodes run the operator's user data for real: install.sh's stand-in for Replicated,
// the docker stand-in (registry login with the FDO license, compose up, TFE's startup checks) for
// FDO. Its log of departures (when each node booted and left, and what it ran) is the witness
// that Replicated stopped on every node before the first FDO node started. The FDO variables are
// the ones `tfe-operator fdo-env` writes from the Replicated settings, used as they are.

import { before, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateLaunchTemplateVersionCommand, DescribeLaunchTemplateVersionsCommand, type RequestLaunchTemplateData } from '@aws-sdk/client-ec2';
import { TerminateInstanceInAutoScalingGroupCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { TfeCluster } from '../../src/api/types.ts';
import { renderUserData } from '../../src/tfe/userdata.ts';
import { issueCert } from '../sandbox/certs.ts';
import { BASE_INSTALL } from '../sandbox/world.ts';
import { makeFdoLicense } from '../sandbox/simulator/fdo.ts';
import { asgHistory, awsCalls } from '../sandbox/moto.ts';
import { ROOT } from '../operator-process.ts';
import { aws, createCluster, exampleCluster, getCluster, isReady, killedAfterEveryAction, simState, userDataOf } from './support.ts';
import type { Departure } from '../sandbox/simulator/fleet.ts';
import type { NodeView } from '../sandbox/simulator/node.ts';
import { callMark, freshWorld, k, mutationsSince, NAME, NS, simConfig, startOperator, stopOperator, waitFor } from './day2.ts';

const endpoint = () => process.env.AWS_ENDPOINT_URL!;
const LAST_REPLICATED = 811;
const TAG_811 = 'v202503-1';
const FDO_LICENSE = makeFdoLicense({ license_id: 'replicated-to-fdo-e2e', customer: 'sandbox (not a real license)' }, 'replicated-to-fdo');
const OPT_IN = { 'tfe.operators.dev/allowed-tfeclusters': '*' };

async function sim(): Promise<{ nodes: NodeView[]; departures: Departure[] }> {
  return (await simState()) as never;
}

/**
 * As a person did it before the move: the Replicated install upgraded to sequence 811 by hand
 * (a launch template version like version 1 with ReleaseSequence 811, the node replaced).
 */
async function replicatedOn811(): Promise<void> {
  const { ec2, asg } = aws();
  const v1 = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'tfe', Versions: ['1'] }));
  const data = v1.LaunchTemplateVersions![0]!.LaunchTemplateData as RequestLaunchTemplateData;
  const install = { ...BASE_INSTALL, replicatedConf: { ...BASE_INSTALL.replicatedConf, ReleaseSequence: LAST_REPLICATED } };
  const v = await ec2.send(
    new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'tfe', VersionDescription: 'upgrade to v202503-1 by hand', LaunchTemplateData: { ...data, UserData: Buffer.from(renderUserData(install)).toString('base64') } }),
  );
  const version = String(v.LaunchTemplateVersion!.VersionNumber!);
  await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', LaunchTemplate: { LaunchTemplateName: 'tfe', Version: version } }));
  const old = (await sim()).nodes.map((n) => n.id);
  for (const id of old) await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: false }));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const nodes = (await sim()).nodes;
    if (nodes.length === 1 && nodes[0]!.state === 'healthy' && nodes[0]!.release === `sequence ${LAST_REPLICATED}`) return;
    assert.ok(Date.now() < deadline, `the Replicated node on ${LAST_REPLICATED} never served: ${JSON.stringify(nodes)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The TFE_* variables as `tfe-operator fdo-env` writes them from the Replicated TfeCluster's
 * settings (the example, applied with no operator running), used as they are.
 */
async function envFromCli(): Promise<string> {
  await createCluster(k, exampleCluster());
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'fdo-env', NAME, '-n', NS], { cwd: ROOT, encoding: 'utf8', env: process.env });
    assert.match(out, /^TFE_DATABASE_HOST=tfe-postgres\.sandbox\.internal:5432$/m);
    assert.match(out, /^#   - \{ setting: TFE_DATABASE_PASSWORD, secretKeyRef: \{ name: tfe-secrets, key: pg_password \} \}$/m);
    return out;
  } finally {
    await deleteCluster();
  }
}

/** What a person adds for FDO: the TFE_* variables, the FDO license, the TLS files (TFE needs its own). */
async function fdoInputs(env: string): Promise<void> {
  const caFile = process.env.REDIS_CA_FILE!;
  const dir = mkdtempSync(join(tmpdir(), 'fdo-tls-'));
  try {
    const ca = { certFile: caFile, keyFile: join(dirname(caFile), 'ca.key'), pem: readFileSync(caFile, 'utf8') };
    const tls = await issueCert(ca, dir, 'tfe', { dns: ['tfe.sandbox.example', 'localhost'], ips: ['127.0.0.1'] });
    const put = async (kind: 'ConfigMap' | 'Secret', name: string, data: Record<string, string>) => {
      const body = { apiVersion: 'v1', kind, metadata: { name, namespace: NS, ...(kind === 'Secret' ? { annotations: OPT_IN } : {}) }, ...(kind === 'Secret' ? { stringData: data } : { data }) };
      if (kind === 'Secret') await k.core.deleteNamespacedSecret({ name, namespace: NS }).catch(() => undefined);
      else await k.core.deleteNamespacedConfigMap({ name, namespace: NS }).catch(() => undefined);
      if (kind === 'Secret') await k.core.createNamespacedSecret({ namespace: NS, body: body as never });
      else await k.core.createNamespacedConfigMap({ namespace: NS, body: body as never });
    };
    await put('ConfigMap', 'tfe-fdo-settings', { 'tfe.env': env });
    // The same with one more variable: other launch template content for the rollback test.
    await put('ConfigMap', 'tfe-fdo-settings-rollback', { 'tfe.env': `${env}TFE_CAPACITY_MEMORY=1024\n` });
    await put('Secret', 'tfe-fdo-license', { 'license.hclic': FDO_LICENSE });
    await put('Secret', 'tfe-fdo-tls', { 'tls.crt': readFileSync(tls.certFile, 'utf8'), 'tls.key': readFileSync(tls.keyFile, 'utf8') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sandbox example changed to install Docker (what a person edits for the move). */
function toDocker(tag: string, mutate: (c: TfeCluster) => void = () => {}): TfeCluster {
  return exampleCluster((c) => {
    c.spec.install = 'Docker';
    c.spec.release = { tag } as TfeCluster['spec']['release'];
    c.spec.settings = {
      configMapRef: { name: 'tfe-fdo-settings' },
      licenseSecretRef: { name: 'tfe-fdo-license', key: 'license.hclic' },
      secretSettings: [{ setting: 'TFE_DATABASE_PASSWORD', secretKeyRef: { name: 'tfe-secrets', key: 'pg_password' } }],
    } as TfeCluster['spec']['settings'];
    c.spec.node = {
      files: [
        { path: '/etc/tfe/tls/cert.pem', mode: '0644', secretKeyRef: { name: 'tfe-fdo-tls', key: 'tls.crt' } },
        { path: '/etc/tfe/tls/key.pem', mode: '0600', secretKeyRef: { name: 'tfe-fdo-tls', key: 'tls.key' } },
      ],
    } as TfeCluster['spec']['node'];
    mutate(c);
  });
}

async function deleteCluster(): Promise<void> {
  await k.custom.deleteNamespacedCustomObject({ group: 'tfe.operators.dev', version: 'v1alpha1', namespace: NS, plural: 'tfeclusters', name: NAME }).catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await getCluster(k, NS, NAME);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Where this file's AWS calls start: one Redis for all of it. */
let fileMark = 0;

before(async () => {
  await freshWorld();
  await replicatedOn811();
  await fdoInputs(await envFromCli());
  fileMark = await callMark();
});

afterEach(async () => {
  await stopOperator();
  await simConfig({ neverHealthy: false });
});

test('refused before any write: an image tag that is not the running release, an upgrade folded into the move, a license that is not an FDO license', async () => {
  await startOperator('fdo-refusals');
  const cases: Array<[string, TfeCluster, string, RegExp]> = [
    ['another release', toDocker('v202502-2'), 'ReleaseMismatch', /runs sequence 811, which is image tag v202503-1.*Set spec\.release\.tag to v202503-1/],
    ['an upgrade in the same step', toDocker('1.0.0'), 'UpgradeDuringMove', /an upgrade folded into the move is not supported/],
    [
      'the Replicated license',
      toDocker(TAG_811, (c) => (c.spec.settings.licenseSecretRef = { name: 'tfe-license', key: 'license.rli' })),
      'FdoLicenseInvalid',
      /is binary: a Replicated license file \(\.rli\).*FDO license text/,
    ],
  ];
  for (const [what, c, reason, message] of cases) {
    const mark = await callMark();
    await createCluster(k, c);
    const seen = await waitFor((x) => x.status?.phase === 'Degraded', `${what}: Degraded`, 60_000);
    const degraded = seen.status!.conditions!.find((x) => x.type === 'Degraded')!;
    assert.equal(degraded.reason, reason, `${what}: ${degraded.message}`);
    assert.match(degraded.message, message);
    const changed = await mutationsSince(mark);
    assert.deepEqual(changed.map((x) => x.action), [], `${what}: AWS was changed`);
    await deleteCluster();
  }
  assert.equal((await sim()).nodes[0]!.release, `sequence ${LAST_REPLICATED}`, 'the Replicated node still serves');
});

test('failurePolicy Rollback: an FDO node that never serves is rolled back to the Replicated version, which serves again', async () => {
  await startOperator('fdo-rollback');
  // The FDO node will not come up (the simulator keeps nodes unhealthy until told otherwise).
  await simConfig({ neverHealthy: true });
  await createCluster(
    k,
    toDocker(TAG_811, (c) => {
      c.spec.settings.configMapRef = { name: 'tfe-fdo-settings-rollback' };
      c.spec.rollout = { ...c.spec.rollout, failurePolicy: 'Rollback' } as TfeCluster['spec']['rollout'];
      c.spec.health = { ...c.spec.health, timeout: '15s' } as TfeCluster['spec']['health'];
    }),
  );
  await waitFor((c) => c.status?.phase === 'RollingBack', 'the rollback to start', 120_000);
  await simConfig({ neverHealthy: false });
  const back = await waitFor((c) => c.status?.phase === 'RolledBack', 'the rollback to end', 120_000);
  assert.equal(back.status!.conditions!.find((x) => x.type === 'Degraded')?.reason, 'ProgressDeadlineExceeded');
  const s = await sim();
  assert.deepEqual(s.nodes.map((n) => [n.installKind, n.release, n.state]), [['replicated', `sequence ${LAST_REPLICATED}`, 'healthy']]);
  const { asg } = aws();
  const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
  const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['tfe'] }))).AutoScalingGroups![0]!;
  assert.ok(!(g.Tags ?? []).some((t) => t.Key === 'tfe.operators.dev/fdo-served'), 'no FDO node served');
  await deleteCluster();
});

test('Replicated 811 -> FDO v202503-1 Active/Active, killed after every action: Replicated stops on every node before the first FDO node starts, no two versions run at once, no duplicate', async () => {
  const departedBefore = (await sim()).departures.length;
  const asgMark = (await asgHistory(endpoint(), 'tfe')).at(-1)?.seq ?? 0;
  const callsMark = await callMark();
  await createCluster(k, toDocker(TAG_811));
  const actions = await killedAfterEveryAction(k, NS, NAME, 'to-fdo');
  const final = await getCluster(k, NS, NAME);
  assert.ok(isReady(final), `not Ready: ${final.status?.message}`);
  // Every action kind of the move (the secrets are stored already: the rollback test put them).
  for (const kind of ['TagAsg', 'CreateLaunchTemplateVersion', 'RollAsg', 'ScaleAsg', 'DrainNodes']) {
    assert.ok(actions.includes(kind), `never crashed after ${kind}: ${actions.join(', ')}`);
  }

  // Every node serves FDO on the same release, in active-active mode.
  const s = await sim();
  assert.equal(s.nodes.length, 2);
  for (const n of s.nodes) {
    assert.equal(n.state, 'healthy', JSON.stringify(n));
    assert.equal(n.installKind, 'docker');
    assert.equal(n.release, TAG_811);
  }

  // The witness: the span each node ran, by what it ran. Replicated ended on every node before
  // the first FDO node booted, and no two releases or kinds overlapped.
  const spans = [
    ...s.departures.slice(departedBefore).map((d) => ({ id: d.id, what: `${d.installKind} ${d.release}`, from: Date.parse(d.bootedAt), to: Date.parse(d.at) })),
    ...s.nodes.map((n) => ({ id: n.id, what: `${n.installKind} ${n.release}`, from: Date.parse(n.bootedAt), to: Infinity })),
  ];
  const replicated = spans.filter((x) => x.what.startsWith('replicated'));
  const fdo = spans.filter((x) => x.what.startsWith('docker'));
  assert.ok(replicated.length >= 1 && fdo.length >= 3, JSON.stringify(spans));
  const firstFdo = Math.min(...fdo.map((x) => x.from));
  for (const r of replicated) assert.ok(r.to <= firstFdo, `Replicated node ${r.id} ran until ${new Date(r.to).toISOString()}, after the first FDO node booted (${new Date(firstFdo).toISOString()})`);
  for (const a of spans) for (const b of spans) if (a.what !== b.what) assert.ok(a.to <= b.from || b.to <= a.from, `${a.id} (${a.what}) and ${b.id} (${b.what}) ran at once`);
  // The FDO node of the single-node step left drained (tfectl node drain through SSM).
  const fdoLeft = s.departures.slice(departedBefore).filter((d) => d.installKind === 'docker');
  assert.ok(fdoLeft.length >= 1 && fdoLeft.every((d) => d.drained), JSON.stringify(fdoLeft));

  // No duplicate: one Redis, two launch template versions, one capacity walk 1 -> 0 -> 1 -> 0 -> 2.
  const calls = (await awsCalls(endpoint(), { since: callsMark })).filter((x) => `${x.userAgent} ${x.amzUserAgent}`.includes('tfe-operator/'));
  const count = (a: string) => calls.filter((x) => x.action === a).length;
  assert.equal(count('CreateLaunchTemplateVersion'), 2);
  const fileCalls = (await awsCalls(endpoint(), { since: fileMark })).filter((x) => `${x.userAgent} ${x.amzUserAgent}`.includes('tfe-operator/'));
  assert.equal(fileCalls.filter((x) => x.action === 'CreateReplicationGroup').length, 1, 'one Redis for the rollback and the move');
  assert.deepEqual((await asgHistory(endpoint(), { asg: 'tfe', since: asgMark })).map((h) => h.to), [0, 1, 0, 2]);

  // The operator's versions hold no secret: every one is read at boot.
  const secrets = [FDO_LICENSE, process.env.REDIS_PASSWORD!];
  for (const v of final.status!.launchTemplate ? [final.status!.launchTemplate.currentVersion!, final.status!.launchTemplate.currentVersion! - 1] : []) {
    const script = await userDataOf(final.status!.launchTemplate!.id!, String(v));
    assert.match(script, /tfe-operator:docker-user-data v1/);
    for (const secret of secrets) assert.ok(!script.includes(secret), `launch template version ${v} holds a secret`);
  }
  // Past the first FDO node there is no way back to Replicated.
  const { asg } = aws();
  const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
  const tags = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['tfe'] }))).AutoScalingGroups![0]!.Tags ?? [];
  assert.ok(tags.some((t) => t.Key === 'tfe.operators.dev/fdo-served'), 'the fdo-served tag is recorded');
});
