// A sandbox of its own holding a named world (SANDBOX_WORLD=<world> make sandbox-up, in a
// temporary folder under the repository), for tests that need that world next to the suite's
// shared default-world sandbox: "hashicorp" (startHashicorpSandbox) or any other
// (startWorldSandbox). `stop()` runs make sandbox-down and removes the folder.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { repoRoot } from '../sandbox/controlplane-bin.ts';
import { readEnv, type SandboxEnv } from '../sandbox/env.ts';
import type { HashicorpWorldInfo } from '../sandbox/worlds/hashicorp.ts';

export interface HashicorpSandbox {
  dir: string;
  env: SandboxEnv;
  world: HashicorpWorldInfo;
  asg: AutoScalingClient;
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  stop(): Promise<void>;
}

/** `graceS`: the ASG's HealthCheckGracePeriod (SANDBOX_ELB_GRACE_S; the module's default is 900). */
export async function startHashicorpSandbox(label: string, graceS?: number): Promise<HashicorpSandbox> {
  return startWorldSandbox<HashicorpWorldInfo>('hashicorp', label, graceS);
}

export type WorldSandbox<W> = Omit<HashicorpSandbox, 'world'> & { world: W };

export async function startWorldSandbox<W>(worldName: string, label: string, graceS?: number): Promise<WorldSandbox<W>> {
  const dir = mkdtempSync(join(repoRoot, `.sandbox-${label}-`));
  const make = (target: string) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        'make',
        [target],
        {
          cwd: repoRoot,
          env: { ...process.env, SANDBOX_ENV: '', SANDBOX_DIR: dir, SANDBOX_SIM_PORT: '0', SANDBOX_WORLD: worldName, ...(graceS === undefined ? {} : { SANDBOX_ELB_GRACE_S: String(graceS) }) },
          timeout: 600_000,
        },
        (err, stdout, stderr) => (err ? reject(new Error(`make ${target}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
      ),
    );
  await make('sandbox-up');
  const env = readEnv(dir)!;
  const world = JSON.parse(readFileSync(join(dir, 'world.json'), 'utf8')) as W;
  const cfg = { endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } };
  const clients = { asg: new AutoScalingClient(cfg), ec2: new EC2Client(cfg), elb: new ElasticLoadBalancingV2Client(cfg) };
  return {
    dir,
    env,
    world,
    ...clients,
    async stop() {
      for (const c of Object.values(clients)) c.destroy();
      await make('sandbox-down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
