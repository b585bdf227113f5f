// SANDBOX_WORLD=fdo make sandbox-up: Terraform Enterprise on Docker (FDO), one node in external
// operational mode, shaped like HashiCorp's HVD module (test/sandbox/worlds/fdo.ts). Its node runs
// the module-shaped script for real (the docker stand-in, the registry stand-in) and turns healthy;
// readiness answers 200 per node; the target group follows it; the Kubernetes objects a future
// TfeCluster would name are there. The database password is in the launch template, as the module
// renders it: the operator will have to take it out (issue 16).
//
// Starts its own sandbox (make sandbox-up, in a temporary folder) and stops it at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { waitFor } from '../sandbox/procs.ts';
import { execFileSync } from 'node:child_process';
import { kubectlPath } from '../sandbox/controlplane-bin.ts';
import { startWorldSandbox, type WorldSandbox } from './hashicorp-sandbox.ts';
import { HOSTNAME, IMAGE_TAG, NAMES, SECRET_VALUES, LICENSE, type FdoWorldInfo } from '../sandbox/worlds/fdo.ts';

let sb: WorldSandbox<FdoWorldInfo>;

interface Node {
  id: string;
  asg: string;
  state: string;
  reason: string;
  installKind: string | null;
  release: string | null;
  hostname: string | null;
  httpsPort: number | null;
  fdo: { mode: string; container: string; started: boolean } | null;
  settings: Record<string, string> | null;
}

async function node(): Promise<Node> {
  return waitFor(
    'the fdo world\'s node healthy',
    async () => {
      const nodes = ((await (await fetch(`${sb.env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: Node[] }).nodes.filter((n) => n.asg === NAMES.asg);
      return nodes.length === 1 && nodes[0]!.state === 'healthy' ? nodes[0] : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

before(async () => {
  sb = await startWorldSandbox<FdoWorldInfo>('fdo', 'world-fdo', 4);
  assert.equal(sb.env.SANDBOX_WORLD, 'fdo');
});

after(async () => {
  await sb?.stop();
});

test('the seeded FDO node runs the module-shaped script and turns healthy; readiness 200 per node, on its port 443 and on the simulator', async () => {
  const n = await node();
  assert.equal(n.installKind, 'docker');
  assert.equal(n.release, IMAGE_TAG);
  assert.equal(n.hostname, HOSTNAME);
  assert.deepEqual(n.fdo && { mode: n.fdo.mode, container: n.fdo.container, started: n.fdo.started }, { mode: 'external', container: 'tfe-tfe-1', started: true });
  assert.equal(n.settings!.TFE_DATABASE_PASSWORD, '<redacted>');
  const res = await fetch(`${sb.env.TFE_SIM_URL}/nodes/${n.id}/api/v1/health/readiness`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { status: string }).status, 'OK');
  const ca = readFileSync(join(sb.dir, 'pki', 'ca.crt'), 'utf8');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: n.httpsPort!, path: '/api/v1/health/readiness', ca, servername: HOSTNAME }, (r) => {
      r.resume();
      resolve(r.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 200);
});

test('the ASG is on $Latest with ELB health checks behind the 443 target group (readiness path), which reports the node healthy', async () => {
  const n = await node();
  const g = (await sb.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }))).AutoScalingGroups![0]!;
  assert.equal(g.LaunchTemplate?.Version, '$Latest');
  assert.equal(g.HealthCheckType, 'ELB');
  assert.equal(g.MaxSize, 1);
  await waitFor('target group healthy', async () => {
    const th = await sb.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: sb.world.targetGroupArn }));
    return (th.TargetHealthDescriptions ?? []).some((d) => d.Target!.Id === n.id && d.TargetHealth!.State === 'healthy');
  }, { timeoutMs: 10_000, intervalMs: 200 });
});

test('the launch template holds the database password in clear, as the module renders it, and no other secret', async () => {
  const v = await sb.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: sb.world.launchTemplateId }));
  const userData = Buffer.from(v.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString('utf8');
  assert.ok(userData.includes(SECRET_VALUES.dbPassword));
  assert.ok(!userData.includes(SECRET_VALUES.encPassword));
  assert.ok(!userData.includes(LICENSE));
});

test('Kubernetes: the settings ConfigMap and the Secrets examples/tfecluster-fdo.yaml names', () => {
  const out = execFileSync(kubectlPath(), ['--kubeconfig', sb.env.KUBECONFIG!, '-n', 'tfe', 'get', 'configmap,secret', '-o', 'name'], { encoding: 'utf8' });
  for (const name of ['configmap/tfe-settings', 'secret/tfe-secrets', 'secret/tfe-license', 'secret/tfe-redis', 'secret/tfe-tls']) assert.match(out, new RegExp(name));
});
