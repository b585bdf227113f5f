// An AWS refusal that will not go away ends Degraded with AWS's own words, not a retry loop:
// AWS refuses a cache node type it does not offer (InvalidParameterValue); moto accepts any, so
// the refusal comes from the fault proxy (test/faults/aws-proxy.ts, kind 'refuse'), in
// ElastiCache's own error shape. The operator asks once, says why, asks no more under the same
// spec, and migrates once the spec is fixed. TFE keeps serving throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { resetWorld } from '../harness.ts';
import { startAwsFaultProxy, type AwsFaultProxy } from '../faults/aws-proxy.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, operator, simState, updateSpec, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
let proxy: AwsFaultProxy;
let op: OperatorProcess | undefined;

before(async () => {
  await resetWorld();
  proxy = await startAwsFaultProxy({ target: process.env.AWS_ENDPOINT_URL! });
});
after(async () => {
  await op?.stop();
  await proxy?.close();
  await resetWorld();
});

test('a node type AWS refuses: Degraded AwsRefused with AWS\'s message, asked once, then fixed by a spec change', async () => {
  const AWS_MESSAGE = 'Invalid CacheNodeType: cache.t9.tiny';
  proxy.addRule({
    name: 'bad-node-type',
    kind: 'refuse',
    operations: ['CreateReplicationGroup'],
    refusal: { code: 'InvalidParameterValue', message: AWS_MESSAGE },
  });
  op = await operator('aws-refusal', { AWS_ENDPOINT_URL: proxy.url });
  const c = exampleCluster((x) => {
    x.spec.redis.elastiCache!.nodeType = 'cache.t9.tiny';
  });
  await createCluster(k, c);
  const degraded = await waitFor(k, 'tfe', 'tfe', (x) => x.status?.phase === 'Degraded', 60_000, 'Degraded');
  const d = degraded.status!.conditions!.find((x) => x.type === 'Degraded')!;
  assert.equal(d.reason, 'AwsRefused');
  assert.match(d.message, /^AWS refused to create ElastiCache replication group tfe-redis.*: InvalidParameterValue: Invalid CacheNodeType: cache\.t9\.tiny\. Nothing was changed/);

  // Asked once: several reconciles later, still one CreateReplicationGroup, still Degraded.
  const askedBefore = proxy.counters().seen.CreateReplicationGroup ?? 0;
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal(proxy.counters().seen.CreateReplicationGroup ?? 0, askedBefore, 'the refused call was asked again under the same spec');
  assert.equal(askedBefore, 1);
  assert.equal((await getCluster(k, 'tfe', 'tfe')).status?.phase, 'Degraded');
  // TFE still serves: the standalone node was never touched.
  const nodes = (await simState()).nodes;
  assert.ok(nodes.some((n) => n.state === 'healthy' && n.version === 1), JSON.stringify(nodes));
  // One warning, for the one refusal (the status change is logged too, at info).
  const warnings = op.logs().filter((l) => l.level === 'warn' && /AWS refused/.test(String(l.msg)));
  assert.equal(warnings.length, 1, JSON.stringify(op.logs().slice(-8)));

  // The fix: a node type AWS offers (the proxy now forwards, as AWS would accept it).
  proxy.removeRule('bad-node-type');
  await updateSpec(k, 'tfe', 'tfe', { redis: { elastiCache: { ...c.spec.redis.elastiCache!, nodeType: 'cache.t3.medium' } } });
  const done = await waitFor(k, 'tfe', 'tfe', isReady, 240_000, 'Ready after the fix');
  assert.equal(done.status!.conditions!.find((x) => x.type === 'Degraded')?.status, 'False');
});
