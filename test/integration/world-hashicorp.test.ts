// SANDBOX_WORLD=hashicorp make sandbox-up: a Terraform Enterprise install shaped the way
// HashiCorp's Terraform modules build one (test/sandbox/worlds/hashicorp.ts). Its baseline node
// boots healthy from the module-shaped script, run for real by the simulator; the load
// balancer's target groups follow the node; and with health check type ELB, a node that the
// target groups report unhealthy is replaced by the ASG once the grace period has passed.
//
// Starts its own sandbox (make sandbox-up, in a temporary folder) and stops it at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { repoRoot } from '../sandbox/controlplane-bin.ts';
import type { SandboxEnv } from '../sandbox/env.ts';
import { startHashicorpSandbox, type HashicorpSandbox } from './hashicorp-sandbox.ts';
import { waitFor } from '../sandbox/procs.ts';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_INSTALL_ARGS, HOSTNAME, NAMES, renderHashicorpUserData, worldUserDataParams, type HashicorpWorldInfo } from '../sandbox/worlds/hashicorp.ts';

const GRACE_S = 4;
let sb: HashicorpSandbox;
let env: SandboxEnv;
let world: HashicorpWorldInfo;
let asg: AutoScalingClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let dir: string;

interface SimNode {
  id: string;
  bootedAt: string;
  asg: string;
  state: string;
  reason: string;
  installArgs: string[] | null;
  hostname: string | null;
  httpsPort: number | null;
  consoleOpen: boolean;
  replicatedConf: Record<string, unknown> | null;
  settings: Record<string, string> | null;
  requests: string[];
}

async function nodes(): Promise<SimNode[]> {
  return ((await (await fetch(`${env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: SimNode[] }).nodes.filter((n) => n.asg === NAMES.asg);
}

async function groupInstances(): Promise<string[]> {
  const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }))).AutoScalingGroups![0]!;
  return (g.Instances ?? []).filter((i) => i.LifecycleState === 'InService' || i.LifecycleState === 'Pending').map((i) => i.InstanceId!);
}

async function targetHealth(arn: string): Promise<string[]> {
  const res = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  return (res.TargetHealthDescriptions ?? []).map((d) => `${d.Target!.Id}:${d.Target!.Port}:${d.TargetHealth!.State}`).sort();
}

before(async () => {
  sb = await startHashicorpSandbox('world-hashicorp', GRACE_S);
  ({ dir, env, world, asg, ec2, elb } = sb);
  assert.equal(env.SANDBOX_WORLD, 'hashicorp');
});

after(async () => {
  await sb?.stop();
});

test('the baseline node boots healthy from the module-shaped script; /sim/state shows what it installed', async () => {
  const [n] = await nodes();
  assert.ok(n, 'no node of the hashicorp world');
  assert.equal(n.state, 'healthy', n.reason);
  assert.equal(n.hostname, HOSTNAME);
  // What install.sh really got, ${PRIVATE_IP} expanded from IMDS by the script.
  const ip = n.installArgs!.find((a) => a.startsWith('private-address='))!.split('=')[1]!;
  assert.match(ip, /^10\.0\.(3[2-9]|4[0-9]|5[0-9]|6[0-3])\.\d+$/);
  assert.deepEqual(n.installArgs, DEFAULT_INSTALL_ARGS.map((a) => a.replace('${PRIVATE_IP}', ip)));
  assert.equal(n.replicatedConf!.TlsBootstrapType, 'server-path');
  assert.equal(n.replicatedConf!.DaemonAuthenticationPassword, '<redacted>');
  assert.equal(n.settings!.enc_password, '<redacted>');
  assert.equal(n.consoleOpen, true, 'Replicated UI still on (the module installs without disable-replicated-ui)');
  assert.ok(n.requests.includes('CONNECT install.terraform.io:443 200'));
});

test('the node serves /_health_check over HTTPS with the world\'s own certificate: valid for the TFE hostname, not for the IP', async () => {
  const [n] = await nodes();
  const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
  const get = (servername?: string) =>
    new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: n!.httpsPort!, path: '/_health_check', ca, ...(servername ? { servername } : {}) }, (res) => {
        res.resume();
        resolve(`HTTP ${res.statusCode}`);
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end();
    });
  assert.equal(await get(HOSTNAME), 'HTTP 200');
  // The world's certificate names 127.0.0.1 too (the simulator serves on loopback); the node's
  // private IP, which is what a probe of https://{privateIp}/ would check, is not in it.
  const ip = n!.installArgs!.find((a) => a.startsWith('private-address='))!.split('=')[1]!;
  assert.equal(await get(ip), 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('the target groups for 443 and 8800 report the node healthy; the ASG is on $Latest with ELB health checks', async () => {
  const [n] = await nodes();
  await waitFor('both target groups healthy', async () => {
    const [https, consoleTg] = await Promise.all([targetHealth(world.targetGroupArns.https), targetHealth(world.targetGroupArns.console)]);
    return https.join() === `${n!.id}:443:healthy` && consoleTg.join() === `${n!.id}:8800:healthy`;
  }, { timeoutMs: 10_000, intervalMs: 200 });
  const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }))).AutoScalingGroups![0]!;
  assert.equal(g.LaunchTemplate?.Version, '$Latest');
  assert.equal(g.HealthCheckType, 'ELB');
  assert.deepEqual([...(g.TargetGroupARNs ?? [])].sort(), [world.targetGroupArns.https, world.targetGroupArns.console].sort());
});

test('a broken script: the new node shows the script\'s own error, the target group reports it, and the ASG replaces it after the grace period', async () => {
  // A new $Latest version whose script reads the license from a secret the node role may not read.
  const params = worldUserDataParams(world.accountId, world.secretArns);
  const broken = renderHashicorpUserData({ ...params, licenseSecretId: `${world.secretArns.license.replace(/-\w{6}$/, '')}-elsewhere` });
  await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: world.launchTemplateId, SourceVersion: '1', LaunchTemplateData: { UserData: Buffer.from(broken).toString('base64') } }));
  const [old] = await groupInstances();
  await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: old!, ShouldDecrementDesiredCapacity: false }));

  const first = await waitFor('a new node that failed to boot', async () => (await nodes()).find((n) => n.id !== old && n.state === 'unhealthy'), { timeoutMs: 60_000, intervalMs: 200 });
  assert.match(first.reason, /user data failed \(exit code \d+\): .*(AccessDenied|ResourceNotFound)/);
  await waitFor('the 443 target group reports it unhealthy', async () => (await targetHealth(world.targetGroupArns.https)).includes(`${first.id}:443:unhealthy`), { timeoutMs: 10_000, intervalMs: 200 });
  // Nobody terminates it: the ASG does, for the ELB health check, once the grace period has
  // passed since the instance launched (moto's launch time; the simulator saw it within a poll).
  const next = await waitFor('the ASG replacing the unhealthy node', async () => {
    const ids = await groupInstances();
    return ids.length === 1 && ids[0] !== first.id ? ids[0] : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const replacedAfterMs = Date.now() - Date.parse(first.bootedAt);
  assert.notEqual(next, old);
  assert.ok(replacedAfterMs >= GRACE_S * 1000 - 500, `replaced ${replacedAfterMs} ms after launch, before the ${GRACE_S} s grace period`);
});

test('examples/tfecluster-hashicorp.yaml names this world: its ASG, launch template and seeded security groups', () => {
  const example = parseYaml(readFileSync(join(repoRoot, 'examples', 'tfecluster-hashicorp.yaml'), 'utf8')) as {
    spec: { autoScalingGroupName: string; launchTemplate: { name: string }; network: { nodeSecurityGroupIds: string[] }; redis: { elastiCache: { securityGroupIds: string[]; subnetGroupName: string; port: number } } };
  };
  assert.equal(example.spec.autoScalingGroupName, world.asgName);
  assert.equal(example.spec.launchTemplate.name, world.launchTemplateName);
  assert.deepEqual(example.spec.network.nodeSecurityGroupIds, [world.nodeSecurityGroupId]);
  assert.deepEqual(example.spec.redis.elastiCache.securityGroupIds, [world.redisSecurityGroupId]);
  assert.equal(example.spec.redis.elastiCache.subnetGroupName, world.cacheSubnetGroupName);
  assert.equal(example.spec.redis.elastiCache.port, world.redisPort);
});
