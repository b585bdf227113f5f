// Shared steps of the Day 2 end-to-end tests (test/e2e/day2-*.test.ts): bring the sandbox
// example to Ready with a real operator process, then change the world or the spec and watch
// what the operator does. The witnesses are moto's own call log and ASG history and the
// simulator's view of the nodes, never the operator's word alone.

import { isReadOperation } from '../../src/aws/clients.ts';
import assert from 'node:assert/strict';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Condition, TfeCluster } from '../../src/api/types.ts';
import { ANNOTATION_APPROVE } from '../../src/api/types.ts';
import { patchCluster } from '../../src/kube/client.ts';
import { resetWorld } from '../harness.ts';
import { asgHistory, awsCalls, type AsgChange, type AwsCall } from '../sandbox/moto.ts';
import { awsClientConfig } from '../sandbox/world.ts';
import type { OperatorProcess } from '../operator-process.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, operator } from './support.ts';

export const NS = 'tfe';
export const NAME = 'tfe';
export const k = kube();
const endpoint = () => process.env.AWS_ENDPOINT_URL!;

/** The simulator's install delay in these tests: short, so a repave takes seconds. */
export const INSTALL_DELAY_MS = 500;

/** Clients for "a person with the AWS console": hand edits that the operator must notice. */
export function handAws() {
  const cfg = { ...awsClientConfig(endpoint()), customUserAgent: 'day2-test/hand-edit' };
  return { asg: new AutoScalingClient(cfg), ec2: new EC2Client(cfg), elasticache: new ElastiCacheClient(cfg), secrets: new SecretsManagerClient(cfg) };
}

export async function simConfig(cfg: { installDelayMs?: number; neverHealthy?: boolean; runStepMs?: number; runsHang?: boolean; runsRefused?: boolean; runPlanMs?: number; ssmAgent?: boolean }): Promise<void> {
  const r = await fetch(`${process.env.TFE_SIM_URL}/sim/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(cfg),
  });
  assert.equal(r.status, 200, `POST /sim/config: ${await r.text()}`);
}

/** The seeded pre-migration world, and a fast simulator. */
export async function freshWorld(): Promise<void> {
  await resetWorld();
  await simConfig({ installDelayMs: INSTALL_DELAY_MS, neverHealthy: false });
}

/** The running operator of the current test; its log tail goes into every failure message. */
let current: OperatorProcess | undefined;

/** Starts `tfe-operator run` re-observing Ready clusters every second (drift tests need it). */
export async function startOperator(id: string, args: string[] = []): Promise<OperatorProcess> {
  current = await operator(id, {}, ['--resync', '1000', ...args]);
  return current;
}

export async function stopOperator(): Promise<void> {
  await current?.stop();
  current = undefined;
}

function logTail(): string {
  return current ? `\n--- operator ${current.id} log tail ---\n${current.lines.slice(-20).join('\n')}` : '';
}

/** Polls the TfeCluster until `pred` holds; fails with the last status and the operator log. */
export async function waitFor(pred: (c: TfeCluster) => boolean, what: string, timeoutMs = 180_000): Promise<TfeCluster> {
  const deadline = Date.now() + timeoutMs;
  let last: TfeCluster | undefined;
  while (Date.now() < deadline) {
    last = await getCluster(k, NS, NAME);
    if (pred(last)) return last;
    if (current && current.proc.exitCode !== null) break;
    await sleep(200);
  }
  const s = last?.status;
  const brief = s && { phase: s.phase, step: s.step, message: s.message, wait: s.wait, approval: s.approval, lastAction: s.lastAction, conditions: s.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`) };
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(brief, null, 1)}${logTail()}`);
}

export const waitReady = (what = 'Ready', timeoutMs?: number) => waitFor(isReady, what, timeoutMs);

export function condition(c: TfeCluster, type: string): Condition | undefined {
  return (c.status?.conditions as Condition[] | undefined)?.find((x) => x.type === type);
}

/** Resets the world, starts an operator, applies the example (changed by `mutate`), waits for Ready. */
export async function migrate(id: string, mutate: (c: TfeCluster) => void = () => {}): Promise<TfeCluster> {
  await freshWorld();
  await startOperator(id);
  const c = exampleCluster(mutate);
  await createCluster(k, c);
  return waitReady('the migration to reach Ready');
}

export async function patchSpec(spec: object): Promise<TfeCluster> {
  return patchCluster(k, NS, NAME, { spec });
}

/** What `kubectl tfe approve` does: annotate with the gate the status names. */
export async function approve(id: string): Promise<void> {
  await patchCluster(k, NS, NAME, { metadata: { annotations: { [ANNOTATION_APPROVE]: id } } });
}

// --- moto's witnesses ------------------------------------------------------------------------

/** The sequence number of the last AWS call moto answered (0 when none since the reset). */
export async function callMark(): Promise<number> {
  const calls = await awsCalls(endpoint());
  return calls.at(-1)?.seq ?? 0;
}

/** A call that changes AWS. STS AssumeRole (the simulator getting a node's instance-profile session) changes nothing. */
export const isMutation = (c: AwsCall) => !!c.action && !isReadOperation(c.action) && c.service !== 'sts';

/** AWS calls after `mark` that change something. */
export async function mutationsSince(mark: number): Promise<AwsCall[]> {
  return (await awsCalls(endpoint(), { since: mark })).filter(isMutation);
}

/** Calls after `mark` that the operator made (its user agent says tfe-operator/<id>). */
export async function operatorCallsSince(mark: number): Promise<AwsCall[]> {
  return (await awsCalls(endpoint(), { since: mark })).filter((c) => /tfe-operator\//.test(`${c.userAgent ?? ''} ${c.amzUserAgent ?? ''}`));
}

/**
 * Waits `ms` and asserts the operator changed nothing in AWS meanwhile, while proving it was
 * still looking (it made read calls: a dead or stuck operator would pass a quietness test).
 */
export async function assertQuiet(mark: number, ms: number, what: string): Promise<void> {
  await sleep(ms);
  const changed = await mutationsSince(mark);
  assert.deepEqual(changed.map((c) => c.action), [], `${what}: AWS was changed: ${JSON.stringify(changed)}${logTail()}`);
  const reads = await operatorCallsSince(mark);
  assert.ok(reads.length > 0, `${what}: the operator made no AWS call at all in ${ms} ms (is it still reconciling?)${logTail()}`);
}

export async function asgMark(): Promise<number> {
  return (await asgHistory(endpoint(), 'tfe')).at(-1)?.seq ?? 0;
}

/** Desired-capacity changes of ASG tfe after `mark`, as [from, to] pairs (its creation by the seeding left out). */
export async function scalesSince(mark = 0): Promise<Array<[number | null, number | null]>> {
  const all: AsgChange[] = await asgHistory(endpoint(), { asg: 'tfe', since: mark });
  return all.filter((h) => h.from !== null).map((h) => [h.from, h.to]);
}

export async function countCalls(action: string, mark = 0): Promise<number> {
  return (await awsCalls(endpoint(), { since: mark })).filter((c) => c.action === action).length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
