// Adoption end to end: an install built the way HashiCorp's Terraform modules build one (the
// "hashicorp" sandbox world: the module's user data, an ASG on $Latest with target groups for
// 443 and 8800 and ELB health checks, the module's security groups, a binary license, TLS files)
// is migrated to Active/Active from examples/tfecluster-hashicorp.yaml alone.
//
// Starts its own sandbox (make sandbox-up with SANDBOX_WORLD=hashicorp, in a temporary folder)
// and its own operator against it; stops both at the end.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { USER_DATA_MARKER } from '../../src/tfe/userdata.ts';
import { mergePatch } from '../../src/kube/client.ts';
import { isReadOperation } from '../../src/aws/clients.ts';
import { startHashicorpSandbox, type HashicorpSandbox } from '../integration/hashicorp-sandbox.ts';
import { asgHistory, asgReplacements, awsCalls, setTargetHealth } from '../sandbox/moto.ts';
import { LICENSE_BYTES, NAMES, PATHS, SECRET_VALUES } from '../sandbox/worlds/hashicorp.ts';
import { ROOT, startOperator, type OperatorProcess } from '../operator-process.ts';
import { freePort } from '../sandbox/ports.ts';

let sb: HashicorpSandbox;
let op: OperatorProcess | undefined;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let cluster: TfeCluster;

const NS = 'tfe';
/** Writes a marker with its umask and what it sees of the operator's files (they exist before it runs). */
const PRE_INSTALL = 'set -eu\nmkdir -p /etc/tfe\n{ echo "umask $(umask)"; test -s /var/lib/terraform-enterprise/key.pem && echo "tls key present"; } > /etc/tfe/pre-install-ran\n';
const NAME = 'tfe';

/** The example as a user would apply it, its health URLs pointed at this sandbox's simulator. */
function example(): TfeCluster {
  const c = parseYaml(readFileSync(join(ROOT, 'examples/tfecluster-hashicorp.yaml'), 'utf8')) as TfeCluster;
  const sim = sb.env.TFE_SIM_URL;
  c.spec.health = { ...c.spec.health, url: `${sim}/_health_check`, nodeUrlTemplate: `${sim}/nodes/{instanceId}/_health_check`, interval: '500ms' } as TfeCluster['spec']['health'];
  return c;
}

const sandboxEnv = (): Record<string, string> => Object.fromEntries(Object.entries(sb.env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;

/** Runs the operator's CLI against this sandbox. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...sandboxEnv() }, maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** AWS calls the operator (or its CLI) made, by their user agent: the world's seeding made its own. */
async function operatorCalls(since?: number) {
  return (await awsCalls(sb.env.AWS_ENDPOINT_URL, since === undefined ? {} : { since })).filter((x) => /tfe-operator\//.test(`${x.userAgent ?? ''} ${x.amzUserAgent ?? ''}`));
}

async function getCluster(): Promise<TfeCluster> {
  return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME })) as TfeCluster;
}

async function group() {
  return (await sb.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }))).AutoScalingGroups![0]!;
}

before(async () => {
  sb = await startHashicorpSandbox('adopt-hashicorp');
  const kc = new KubeConfig();
  kc.loadFromFile(sb.env.KUBECONFIG);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  cluster = example();
  // The user's own step before install.sh (spec.node.preInstallScriptRef), run for real on each node.
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'tfe-node' }, data: { 'pre-install.sh': PRE_INSTALL } } });
  cluster.spec.node = { ...cluster.spec.node, preInstallScriptRef: { name: 'tfe-node', key: 'pre-install.sh' } };
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: cluster });
});

after(async () => {
  await op?.stop();
  await sb?.stop();
});

test('before any migration: `tfe-operator render` prints the script it would write and how it differs from the module\'s; `plan` names the first step', async () => {
  const r = await cli('render', NAME, '-n', NS);
  assert.equal(r.code, 0, r.stderr);
  const cut = r.stdout.indexOf('\n# ---- ');
  const [script, rest] = [r.stdout.slice(0, cut + 1), r.stdout.slice(cut)];
  assert.ok(script!.startsWith(`#!/bin/bash\n${USER_DATA_MARKER}\n`));
  // spec.node, rendered: install.sh's arguments, the TLS files from Secrets Manager.
  assert.ok(
    script!.includes(`\nINSTALL_ARGS=(\n  'fast-timeouts'\n  'bypass-firewalld-warning'\n  'no-proxy'\n  "private-address=\${PRIVATE_IP}"\n  "public-address=\${PRIVATE_IP}"\n)\n`),
    'install.sh arguments from spec.node.installArgs',
  );
  assert.ok(script!.includes(`\nfetch_file '${PATHS.tlsCert}' '0644' 'tfe-operator/tfe/tfe/file${PATHS.tlsCert}'\n`));
  assert.ok(script!.includes(`\nfetch_file '${PATHS.tlsKey}' '0600' 'tfe-operator/tfe/tfe/file${PATHS.tlsKey}'\n`));
  assert.ok(script!.includes(`<<'TFE_OPERATOR_PRE_INSTALL'\n${PRE_INSTALL}TFE_OPERATOR_PRE_INSTALL\n`), 'the pre-install script, as the ConfigMap holds it');
  assert.match(rest!, /stage single: tfe-operator single node on Redis [0-9a-f]{12}; the Redis endpoint is a placeholder until the ElastiCache replication group exists/);
  // The difference: the module's script goes, the operator's comes.
  assert.match(rest!, /difference from the script the nodes run now \(launch template version 1\)/);
  assert.match(rest!, /\n-\s+\| tee -a "\$log_pathname"\n/);
  assert.ok(rest!.includes(`\n+fetch_file '${PATHS.tlsKey}'`));
  for (const secret of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword, ...Object.values(SECRET_VALUES.installTokens), readFileSync(sb.world.tls.keyFile, 'utf8').split('\n')[1]!]) {
    assert.ok(!r.stdout.includes(secret), 'no secret value in the render output');
  }
  const p = await cli('plan', NAME, '-n', NS);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /next action: /);
  assert.match(p.stdout, /read-only: nothing was changed/);
  // The CLI changed nothing: no mutating call reached AWS.
  const mine = await operatorCalls();
  assert.ok(mine.some((c) => c.action === 'DescribeLaunchTemplateVersions'), 'the CLI\'s calls are seen');
  const writes = mine.filter((c) => !isReadOperation(c.action ?? ''));
  assert.deepEqual(writes.map((c) => c.action), []);
});

test('a wrong enc_password is refused before any write: compared with the module\'s own enc_password secret, which its user data reads', async () => {
  const wrong = 'hcw-a-different-enc-password-NOT-A-REAL-SECRET';
  const setEnc = (v: string) => core.patchNamespacedSecret({ name: 'tfe-secrets', namespace: NS, body: { data: { enc_password: Buffer.from(v).toString('base64') } } }, mergePatch);
  await setEnc(wrong);
  const since = (await awsCalls(sb.env.AWS_ENDPOINT_URL)).at(-1)?.seq ?? 0;
  const before = await group();
  const first = await startOperator({ id: 'adopt-enc', port: await freePort(), env: sandboxEnv(), args: ['--resync', '1000'], logFile: join(sb.dir, 'logs', 'operator-adopt-enc.log') });
  try {
    let c = await getCluster();
    for (const end = Date.now() + 60_000; c.status?.conditions?.find((x) => x.type === 'Degraded')?.reason !== 'EncryptionPasswordMismatch'; c = await getCluster()) {
      assert.ok(Date.now() < end, `not refused: ${JSON.stringify(c.status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(c.status!.message!.includes(`(read from Secrets Manager secret ${sb.world.secretArns.encPassword} (named by the user data of launch template`), c.status!.message);
    assert.match(c.status!.message!, /spec\.encryptionPasswordSecretRef/);
    await new Promise((r) => setTimeout(r, 2_000)); // a few resyncs
    for (const v of [wrong, SECRET_VALUES.encPassword]) assert.ok(!JSON.stringify(c).includes(v), 'an enc_password value in the status');
    const mine = await operatorCalls(since);
    assert.ok(mine.some((x) => x.action === 'GetSecretValue'), 'the module\'s secret was read');
    assert.deepEqual(mine.filter((x) => !isReadOperation(x.action ?? '')).map((x) => x.action), [], 'nothing changed in AWS');
    const after = await group();
    assert.deepEqual([after.LaunchTemplate?.Version, after.DesiredCapacity, after.Tags], [before.LaunchTemplate?.Version, before.DesiredCapacity, before.Tags]);
  } finally {
    await first.stop();
    await setEnc(SECRET_VALUES.encPassword);
    // The next test starts from a TfeCluster the operator has not judged yet.
    await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME, body: { status: null } }, mergePatch);
  }
});

test('a node role that may not read the operator\'s secrets: Degraded NodeSecretAccessDenied before any change, with the statement to add', async () => {
  const iam = new IAMClient({ endpoint: sb.env.AWS_ENDPOINT_URL, region: sb.env.AWS_REGION, credentials: { accessKeyId: sb.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sb.env.AWS_SECRET_ACCESS_KEY! } });
  try {
    // The one change docs/adoption.md asks of the user, undone.
    const policy = await iam.send(new GetRolePolicyCommand({ RoleName: NAMES.role, PolicyName: NAMES.operatorSecretsPolicy }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: NAMES.role, PolicyName: NAMES.operatorSecretsPolicy }));
    const since = (await awsCalls(sb.env.AWS_ENDPOINT_URL)).at(-1)?.seq ?? 0;
    op = await startOperator({ id: 'adopt', port: await freePort(), env: sandboxEnv(), args: ['--resync', '5000'], logFile: join(sb.dir, 'logs', 'operator-adopt.log') });
    let c = await getCluster();
    for (const end = Date.now() + 60_000; c.status?.phase !== 'Degraded'; c = await getCluster()) {
      assert.ok(Date.now() < end, `not Degraded: ${JSON.stringify(c.status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(c.status!.conditions!.find((x) => x.type === 'Degraded')!.reason, 'NodeSecretAccessDenied');
    assert.match(c.status!.message!, new RegExp(`role ${sb.world.roleArn.replace(/[/.]/g, '\\$&')} \\(instance profile ${NAMES.instanceProfile}\\) may not secretsmanager:GetSecretValue on tfe-operator/tfe/tfe/enc_password`));
    assert.ok(c.status!.message!.includes(`"Resource":"arn:aws:secretsmanager:${sb.env.AWS_REGION}:${sb.world.accountId}:secret:tfe-operator/tfe/tfe/*"`), c.status!.message);
    const reads = (await operatorCalls(since)).filter((x) => isReadOperation(x.action ?? ''));
    assert.ok(reads.some((x) => x.action === 'SimulatePrincipalPolicy'), 'the operator asked IAM');
    const writes = (await operatorCalls(since)).filter((x) => !isReadOperation(x.action ?? ''));
    assert.deepEqual(writes.map((x) => x.action), [], 'nothing changed in AWS');
    // The user adds the statement back: the operator goes on (next test).
    await iam.send(new PutRolePolicyCommand({ RoleName: NAMES.role, PolicyName: NAMES.operatorSecretsPolicy, PolicyDocument: decodeURIComponent(policy.PolicyDocument!) }));
  } finally {
    iam.destroy();
  }
});

test('the operator adopts it and reaches Ready: 1 -> 0 -> 1 -> 0 -> 2 on numeric versions, the module\'s security groups kept, no ELB replacement, exact file bytes and the pre-install script on every new node, processes resumed', async () => {
  const deadline = Date.now() + 300_000;
  let c = await getCluster();
  while (!(c.status?.phase === 'Ready' && c.status.observedGeneration === c.metadata.generation)) {
    assert.ok(Date.now() < deadline, `not Ready in time: ${JSON.stringify(c.status, null, 1)}`);
    // Until the next resync after the IAM fix, the previous test's refusal may still stand.
    if (c.status?.phase === 'Degraded') assert.match(c.status.message ?? '', /may not secretsmanager:GetSecretValue/);
    await new Promise((r) => setTimeout(r, 500));
    c = await getCluster();
  }

  // Scale history of the module's ASG: one node, 0 -> 1 on the single-node version, 0 -> 2.
  const history = (await asgHistory(sb.env.AWS_ENDPOINT_URL, NAMES.asg)).map((h) => h.to);
  assert.deepEqual(history, [1, 0, 1, 0, 2]);
  const g = await group();
  assert.match(g.LaunchTemplate!.Version!, /^\d+$/, 'pinned to a number, never back to $Latest');
  assert.equal(Number(g.LaunchTemplate!.Version), c.status!.launchTemplate!.currentVersion);
  assert.equal(c.status!.launchTemplate!.baselineVersion, 1);

  // The 8800 target group was detached before 8800 closed; the 443 one stays.
  assert.deepEqual(g.TargetGroupARNs, [sb.world.targetGroupArns.https]);
  const [nodeSg] = (await sb.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sb.world.nodeSecurityGroupId] }))).SecurityGroups!;
  const from8800 = (nodeSg!.IpPermissions ?? []).filter((p) => p.FromPort !== undefined && p.FromPort <= 8800 && (p.ToPort ?? 0) >= 8800 && p.IpProtocol !== '-1');
  assert.deepEqual(from8800.flatMap((p) => (p.UserIdGroupPairs ?? []).map((u) => u.GroupId)), [], 'the load balancer can no longer reach 8800');
  // The operator's calls (the world's seeding made its own security group rules).
  const calls = await operatorCalls();
  const seqOf = (action: string) => calls.find((x) => x.action === action)?.seq ?? Infinity;
  assert.ok(seqOf('DetachLoadBalancerTargetGroups') < seqOf('RevokeSecurityGroupIngress'), 'detached before 8800 was closed');
  // The module's layout is accepted as it is: the node-to-node rule on all ports (8201 between
  // nodes) stays, Redis opened by CIDR is enough; only the load balancer's 8800 source went.
  assert.deepEqual(calls.filter((x) => x.action === 'AuthorizeSecurityGroupIngress').map((x) => x.action), [], 'no rule added');
  assert.equal(calls.filter((x) => x.action === 'RevokeSecurityGroupIngress').length, 1);
  const self = (nodeSg!.IpPermissions ?? []).find((p) => p.IpProtocol === '-1' && (p.UserIdGroupPairs ?? []).some((u) => u.GroupId === sb.world.nodeSecurityGroupId));
  assert.ok(self, 'the self rule on all ports is kept');

  // No node replaced through a target group (the grace period and the suspended processes held).
  assert.deepEqual(await asgReplacements(sb.env.AWS_ENDPOINT_URL), []);
  assert.deepEqual(g.SuspendedProcesses ?? [], []);
  assert.equal((g.Tags ?? []).find((t) => t.Key === 'tfe.operators.dev/suspended-processes')?.Value ?? '', '');

  // Every node running now was launched by the operator's versions and wrote the exact bytes.
  const state = (await (await fetch(`${sb.env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: Array<{ id: string; asg: string; state: string; version: number | null }> };
  const running = state.nodes.filter((n) => n.asg === NAMES.asg && g.Instances!.some((i) => i.InstanceId === n.id));
  assert.equal(running.length, 2);
  const tls = await core.readNamespacedSecret({ name: 'tfe-tls', namespace: NS });
  const want: Record<string, Buffer> = {
    [PATHS.tlsCert]: Buffer.from(tls.data!['tls.crt']!, 'base64'),
    [PATHS.tlsKey]: Buffer.from(tls.data!['tls.key']!, 'base64'),
    [PATHS.license]: LICENSE_BYTES,
  };
  for (const n of running) {
    assert.equal(n.state, 'healthy');
    assert.ok((n.version ?? 0) > 1, `${n.id} launched from version ${n.version}`);
    const marker = readFileSync(join(sb.dir, 'nodes', n.id, 'upper', 'etc/tfe/pre-install-ran'), 'utf8');
    assert.equal(marker, 'umask 0022\ntls key present\n', `${n.id}: the pre-install script ran after the files were written, with umask 022`);
    for (const [path, bytes] of Object.entries(want)) {
      const got = readFileSync(join(sb.dir, 'nodes', n.id, 'upper', path));
      assert.ok(got.equals(bytes), `${n.id}:${path}: ${got.length} bytes, the Secret has ${bytes.length}`);
    }
  }
});

test('a node its target group reports unhealthy is not counted healthy, though its own /_health_check answers', async () => {
  const g = await group();
  const victim = g.Instances!.find((i) => i.LifecycleState === 'InService')!.InstanceId!;
  // The load balancer's view only (the node itself stays healthy): a 502 on the 443 group.
  await setTargetHealth(sb.env.AWS_ENDPOINT_URL, { [victim]: { state: 'unhealthy', ports: [], reason: 'test: the load balancer gets 502', code: 502 } });
  try {
    let c = await getCluster();
    for (const end = Date.now() + 30_000; !c.status?.nodes?.instances?.some((i) => i.id === victim && !i.healthy); c = await getCluster()) {
      assert.ok(Date.now() < end, `still counted healthy: ${JSON.stringify(c.status?.nodes)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const i = c.status!.nodes!.instances!.find((x) => x.id === victim)!;
    assert.match(i.message ?? '', new RegExp(`^target group ${NAMES.targetGroup443}: unhealthy \\(Target\\.ResponseCodeMismatch\\)`));
    const node = (await (await fetch(`${sb.env.TFE_SIM_URL}/nodes/${victim}/_health_check`)).status);
    assert.equal(node, 200, 'the node itself answers healthy');
  } finally {
    await setTargetHealth(sb.env.AWS_ENDPOINT_URL, { [victim]: { state: 'healthy', ports: [443] } });
  }
});
