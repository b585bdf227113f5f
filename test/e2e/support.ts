// Shared steps of the end-to-end tests: apply the sandbox TfeCluster, wait for it, read the
// world back from AWS, the simulator and Kubernetes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DescribeAutoScalingGroupsCommand, AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { patchCluster, type Kube } from '../../src/kube/client.ts';
import { awsClientConfig } from '../sandbox/world.ts';
import { ROOT, startOperator, type OperatorProcess } from '../operator-process.ts';
import { freePort } from '../sandbox/ports.ts';

export function kube(): Kube {
  const config = new KubeConfig();
  config.loadFromDefault();
  return { config, core: config.makeApiClient(CoreV1Api), custom: config.makeApiClient(CustomObjectsApi), coordination: undefined as never };
}

export function aws() {
  const cfg = awsClientConfig(process.env.AWS_ENDPOINT_URL!);
  return { asg: new AutoScalingClient(cfg), ec2: new EC2Client(cfg), elasticache: new ElastiCacheClient(cfg) };
}

/** The sandbox example, pointed at this sandbox's simulator, with optional spec changes. */
export function exampleCluster(mutate: (c: TfeCluster) => void = () => {}): TfeCluster {
  const c = parse(readFileSync(join(ROOT, 'examples/tfecluster.yaml'), 'utf8')) as TfeCluster;
  const sim = process.env.TFE_SIM_URL!;
  c.spec.health = {
    ...c.spec.health,
    url: `${sim}/_health_check`,
    nodeUrlTemplate: `${sim}/nodes/{instanceId}/_health_check`,
    interval: '500ms',
  } as TfeCluster['spec']['health'];
  mutate(c);
  return c;
}

export async function createCluster(k: Kube, c: TfeCluster): Promise<TfeCluster> {
  return (await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: c.metadata.namespace!, plural: PLURAL, body: c })) as TfeCluster;
}

export async function getCluster(k: Kube, ns: string, name: string): Promise<TfeCluster> {
  return (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as TfeCluster;
}

export async function updateSpec(k: Kube, ns: string, name: string, spec: object): Promise<TfeCluster> {
  return patchCluster(k, ns, name, { spec });
}

export async function waitFor(
  k: Kube,
  ns: string,
  name: string,
  pred: (c: TfeCluster) => boolean,
  timeoutMs = 120_000,
  what = 'condition',
): Promise<TfeCluster> {
  const deadline = Date.now() + timeoutMs;
  let last: TfeCluster | undefined;
  while (Date.now() < deadline) {
    last = await getCluster(k, ns, name);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last?.status, null, 1)}`);
}

export const isReady = (c: TfeCluster) => c.status?.phase === 'Ready' && c.status.observedGeneration === c.metadata.generation;

export async function simState(): Promise<{ nodes: Array<Record<string, any>>; scaleHistory: Record<string, number[]> }> {
  const r = await fetch(`${process.env.TFE_SIM_URL}/sim/state`);
  return (await r.json()) as never;
}

export async function describeAsg() {
  const out = await aws().asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['tfe'] }));
  return out.AutoScalingGroups![0];
}

export async function userDataOf(launchTemplateId: string, version: string): Promise<string> {
  const out = await aws().ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [version] }));
  return Buffer.from(out.LaunchTemplateVersions![0].LaunchTemplateData!.UserData!, 'base64').toString('utf8');
}

export async function replicationGroup(id: string) {
  const out = await aws().elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0];
}

export async function eventsOf(k: Kube, ns: string, name: string) {
  const list = await k.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items.sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
}

export async function operator(id: string, env: Record<string, string> = {}, args: string[] = []): Promise<OperatorProcess> {
  return startOperator({ id, port: await freePort(), env, args, logFile: process.env.SANDBOX_DIR ? join(process.env.SANDBOX_DIR, 'logs', `operator-${id}.log`) : undefined });
}

/** The Degraded=True condition, if any. */
export function degradedCondition(c: TfeCluster) {
  return c.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True');
}

/** Waits until the TfeCluster is Degraded for its current generation; the operator's log tail on timeout. */
export async function waitDegraded(k: Kube, ns: string, name: string, op: OperatorProcess | undefined, timeoutMs = 60_000): Promise<TfeCluster> {
  return waitFor(k, ns, name, (x) => !!degradedCondition(x) && x.status?.observedGeneration === x.metadata.generation, timeoutMs, `${name} Degraded`).catch((err) => {
    throw new Error(`${name}: ${(err as Error).message}\noperator log tail:\n${op?.lines.slice(-10).join('\n')}`);
  });
}

/** The reasons of the TfeCluster's Warning Events, once one has `reason` (Events follow the status write), or after `timeoutMs`. */
export async function warningReasons(k: Kube, ns: string, name: string, reason: string, timeoutMs = 10_000): Promise<string[]> {
  let warnings: string[] = [];
  for (const until = Date.now() + timeoutMs; Date.now() < until && !warnings.includes(reason); await new Promise((r) => setTimeout(r, 250))) {
    warnings = (await eventsOf(k, ns, name)).filter((e) => e.type === 'Warning').map((e) => e.reason!);
  }
  return warnings;
}

/**
 * Crash and resume: runs the operator with the test-only switch TFE_OPERATOR_CRASH_AFTER='*' (it
 * exits right after each action succeeds) and starts it again, until the TfeCluster is Ready.
 * Returns the kinds of the actions it was killed after, in order.
 */
export async function killedAfterEveryAction(k: Kube, ns: string, name: string, id: string, maxRuns = 60): Promise<string[]> {
  const actions: string[] = [];
  for (let run = 0; run < maxRuns; run++) {
    const op = await operator(`${id}-${run}`, { TFE_OPERATOR_CRASH_AFTER: '*' });
    const outcome = await Promise.race([
      op.exited.then((code) => ({ code })),
      (async () => {
        for (;;) {
          if (isReady(await getCluster(k, ns, name))) return { ready: true as const };
          await new Promise((r) => setTimeout(r, 250));
        }
      })(),
    ]);
    const crash = op.logs().find((l) => String(l.msg).includes('TFE_OPERATOR_CRASH_AFTER'));
    if (crash) actions.push(String(crash.action));
    if ('ready' in outcome) {
      await op.stop();
      return actions;
    }
    if (outcome.code !== 86) throw new Error(`operator exited with ${outcome.code}:\n${op.lines.slice(-15).join('\n')}`);
  }
  return actions;
}
