// Fault injection against real parts: the operator migrates the sandbox example while the
// AWS API (through test/faults/aws-proxy.ts) throttles, fails, answers slowly and drops
// connections, while Redis goes away during the single-node wait, and while kube-apiserver
// and etcd restart. Each run of the example must end exactly like a clean run, with no action
// repeated (moto's own call log, ASG history and resources are the witnesses, not the
// operator's word); a run with an existing Redis must pause while it is down and go on after.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { resetWorld } from '../harness.ts';
import { startAwsFaultProxy, type AwsFaultProxy } from '../faults/aws-proxy.ts';
import { hasPartControl, parts, startPart, stopPart, restartPart } from '../faults/sandbox-parts.ts';
import { assertCleanEnd } from '../faults/end-state.ts';
import { asgHistory } from '../sandbox/moto.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, operator, updateSpec, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';
import type { TfeCluster } from '../../src/api/types.ts';

const k = kube();
const NS = 'tfe';
let proxy: AwsFaultProxy;
let op: OperatorProcess | undefined;
let baseline: string | undefined;

/** Operator settings for fault runs: AWS through the proxy; a stalled AWS call times out after 3 s. */
function operatorEnv(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: proxy.url,
    TFE_OPERATOR_AWS_REQUEST_TIMEOUT_MS: '3000',
  };
}

async function startRun(id: string, mutate: (c: TfeCluster) => void = () => {}): Promise<TfeCluster> {
  op = await operator(id, operatorEnv());
  const c = exampleCluster(mutate);
  await createCluster(k, c);
  return c;
}

async function waitReady(c: TfeCluster, timeoutMs = 240_000): Promise<TfeCluster> {
  return waitFor(k, NS, c.metadata.name!, isReady, timeoutMs, `TfeCluster ${NS}/${c.metadata.name} Ready`);
}

/** Fails with the operator's last log lines, so a stuck run says why. */
async function ready(c: TfeCluster, what: string): Promise<TfeCluster> {
  try {
    return await waitReady(c);
  } catch (err) {
    const tail = op?.lines.slice(-25).join('\n') ?? '';
    throw new Error(`${what}: ${(err as Error).message}\n--- operator log tail ---\n${tail}\n--- proxy ---\n${JSON.stringify(proxy.counters())}`);
  }
}

function assertNoCrash(what: string) {
  assert.equal(op?.proc.exitCode, null, `${what}: the operator exited (code ${op?.proc.exitCode})`);
  const fatal = op?.logs().filter((l) => l.level === 'fatal') ?? [];
  assert.equal(fatal.length, 0, `${what}: fatal log lines: ${JSON.stringify(fatal)}`);
}

before(async () => {
  proxy = await startAwsFaultProxy({ target: process.env.AWS_ENDPOINT_URL! });
});
beforeEach(async () => {
  await resetWorld();
  proxy.clearRules();
  proxy.resetCounters();
});
afterEach(async () => {
  await op?.stop();
  op = undefined;
  // A test that failed half-way must not leave a part stopped for the next one.
  if (hasPartControl()) for (const p of await parts()) if (!p.running) await startPart(p.name as never);
});
after(async () => {
  await proxy?.close();
});

test('through the proxy without faults: a clean run (the baseline the others compare with)', async () => {
  const c = await startRun('faults-clean');
  const done = await ready(c, 'clean run');
  const end = await assertCleanEnd(done, 'clean run');
  baseline = end.current;
  assertNoCrash('clean run');
  assert.ok((proxy.counters().forwarded.DescribeAutoScalingGroups ?? 0) > 0, 'the operator did not go through the proxy');
});

/** Polls the TfeCluster and remembers every phase and Degraded reason it showed. */
function recordPhases(c: TfeCluster): { seen: Set<string>; stop: () => void } {
  const seen = new Set<string>();
  let on = true;
  void (async () => {
    while (on) {
      try {
        const now = await getCluster(k, NS, c.metadata.name!);
        const degraded = now.status?.conditions?.find((x) => x.type === 'Degraded');
        seen.add(degraded?.status === 'True' ? `Degraded:${degraded.reason}: ${degraded.message}` : String(now.status?.phase));
      } catch {
        /* the API server may be restarting */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { seen, stop: () => (on = false) };
}

function assertFired(rules: string[], what: string) {
  const fired = proxy.counters().fired;
  for (const r of rules) assert.ok((fired[r] ?? 0) > 0, `${what}: fault rule ${r} never fired (fired: ${JSON.stringify(fired)}); the test did not test it`);
}

test('AWS throttling and HTTP 500s on reads and writes: same end state, nothing done twice', async () => {
  const rules = [
    // Every other write attempt is throttled (the SDK's retry must take it).
    proxy.addRule({ name: 'throttle-writes', kind: 'throttle', operations: ['mutating'], every: 2 }),
    // Reads too, and a burst longer than the SDK's 5 attempts (the work queue must retry).
    proxy.addRule({ name: 'throttle-burst', kind: 'throttle', operations: ['DescribeLaunchTemplateVersions'], skip: 3, times: 6 }),
    proxy.addRule({ name: 'throttle-reads', kind: 'throttle', operations: ['reading'], every: 4 }),
    proxy.addRule({ name: '500-lt-version', kind: 'error500', operations: ['CreateLaunchTemplateVersion'], times: 2 }),
    proxy.addRule({ name: '500-update-asg', kind: 'error500', operations: ['UpdateAutoScalingGroup'], every: 3 }),
    proxy.addRule({ name: '500-secrets', kind: 'error500', operations: ['CreateSecret', 'DescribeSecret'], every: 3 }),
    proxy.addRule({ name: '500-redis', kind: 'error500', operations: ['CreateReplicationGroup', 'DescribeReplicationGroups'], every: 3 }),
  ];
  const c = await startRun('faults-throttle');
  const phases = recordPhases(c);
  const done = await ready(c, 'throttling and 500s').finally(phases.stop);
  assertFired(rules, 'throttling and 500s');
  const end = await assertCleanEnd(done, 'throttling and 500s');
  if (baseline) assert.equal(end.current, baseline, 'throttling and 500s: the nodes run other settings than after a clean run');
  assertNoCrash('throttling and 500s');
  const injected = proxy.counters().injected;
  assert.ok(Object.keys(injected.throttle ?? {}).length >= 5, `few throttled operations: ${JSON.stringify(injected.throttle)}`);
  assert.deepEqual([...phases.seen].filter((p) => p.startsWith('Degraded')), [], 'transient AWS errors made the TfeCluster Degraded');
});

test('slow answers, a stalled call, dropped connections (before and after moto carried the call out)', async () => {
  const rules = [
    proxy.addRule({ name: 'slow-reads', kind: 'slow', operations: ['reading'], every: 5, delayMs: 800 }),
    // Longer than the operator's request timeout (3 s here): without a timeout the reconcile would hang.
    proxy.addRule({ name: 'stall-describe-rg', kind: 'slow', operations: ['DescribeReplicationGroups'], skip: 1, times: 1, delayMs: 600_000 }),
    proxy.addRule({ name: 'stall-update-asg', kind: 'slow', operations: ['UpdateAutoScalingGroup'], skip: 1, times: 1, delayMs: 600_000 }),
    proxy.addRule({ name: 'drop-reads', kind: 'drop', operations: ['DescribeAutoScalingGroups'], every: 4 }),
    proxy.addRule({ name: 'drop-writes', kind: 'drop', operations: ['CreateSecret', 'CreateOrUpdateTags', 'UpdateAutoScalingGroup'], every: 3 }),
    // The call is carried out but its answer is lost: the retry must not do it again.
    proxy.addRule({ name: 'lost-rg', kind: 'dropAfter', operations: ['CreateReplicationGroup'], times: 1 }),
    proxy.addRule({ name: 'lost-lt-version', kind: 'dropAfter', operations: ['CreateLaunchTemplateVersion'], times: 2 }),
    proxy.addRule({ name: 'lost-secret', kind: 'dropAfter', operations: ['CreateSecret'], skip: 1, times: 1 }),
    proxy.addRule({ name: 'lost-scale', kind: 'dropAfter', operations: ['UpdateAutoScalingGroup'], skip: 2, times: 2 }),
    proxy.addRule({ name: 'lost-tags', kind: 'dropAfter', operations: ['CreateOrUpdateTags'], times: 1 }),
  ];
  const c = await startRun('faults-drop');
  const phases = recordPhases(c);
  const done = await ready(c, 'slow and dropped').finally(phases.stop);
  assertFired(rules, 'slow and dropped');
  const end = await assertCleanEnd(done, 'slow and dropped');
  if (baseline) assert.equal(end.current, baseline, 'slow and dropped: the nodes run other settings than after a clean run');
  assertNoCrash('slow and dropped');
  assert.deepEqual([...phases.seen].filter((p) => p.startsWith('Degraded')), [], 'transient AWS errors made the TfeCluster Degraded');
});

async function simConfig(cfg: { installDelayMs?: number; neverHealthy?: boolean }): Promise<void> {
  const res = await fetch(`${process.env.TFE_SIM_URL}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cfg) });
  assert.equal(res.status, 200, `POST /sim/config: ${await res.text()}`);
}

async function simNodes(): Promise<Array<{ id: string; asg: string; state: string; reason: string; version: number | null }>> {
  const r = await fetch(`${process.env.TFE_SIM_URL}/sim/state`);
  return ((await r.json()) as { nodes: never[] }).nodes;
}

/** Waits until the TfeCluster waits for its single node on Redis (the step-3 health wait). */
function inSingleNodeWait(c: TfeCluster): boolean {
  return c.status?.step === 'SingleNode' && !!c.status.wait?.id?.startsWith('healthy:');
}

async function capacityChanges(): Promise<number[]> {
  return (await asgHistory(process.env.AWS_ENDPOINT_URL!, 'tfe')).filter((h) => h.from !== null).map((h) => h.to!);
}

test('Redis stops during the single-node wait and comes back: the operator waits, then finishes', { skip: !hasPartControl() && 'no sandbox control endpoint' }, async () => {
  await simConfig({ installDelayMs: 4_000 }); // a wait long enough to take Redis away inside it
  const c = await startRun('faults-redis');
  await waitFor(k, NS, c.metadata.name!, inSingleNodeWait, 120_000, 'the single-node wait');
  await stopPart('redis');
  try {
    // The node finishes installing, cannot reach Redis and reports unhealthy; the operator keeps waiting.
    const deadline = Date.now() + 60_000;
    let nodes = await simNodes();
    while (!nodes.some((n) => n.asg === 'tfe' && n.state === 'unhealthy' && /Redis/.test(n.reason)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      nodes = await simNodes();
    }
    assert.ok(nodes.some((n) => n.asg === 'tfe' && n.state === 'unhealthy' && /Redis/.test(n.reason)), `the node never lost Redis: ${JSON.stringify(nodes)}`);
    await new Promise((r) => setTimeout(r, 5_000)); // several reconciles (interval 500 ms) without Redis
    const during = await getCluster(k, NS, c.metadata.name!);
    assert.equal(during.status?.step, 'SingleNode', `moved on without a healthy node: ${during.status?.message}`);
    assert.equal(during.status?.phase, 'Migrating', `while Redis is down: ${during.status?.message}`);
    assert.match(during.status?.message ?? '', /waiting for 1 healthy node/, 'the status does not say what it waits for');
    assert.match(JSON.stringify(during.status?.nodes?.instances), /Redis/, 'status.nodes does not show why the node is unhealthy');
    assert.deepEqual(await capacityChanges(), [0, 1], 'the operator scaled while the single node was unhealthy');
  } finally {
    await startPart('redis');
  }
  const done = await ready(c, 'Redis stop/start');
  const end = await assertCleanEnd(done, 'Redis stop/start');
  if (baseline) assert.equal(end.current, baseline);
  assertNoCrash('Redis stop/start');
});

test('an existing Redis (spec.redis.external) stops during the single-node wait: Degraded while down, resumes soon after', { skip: !hasPartControl() && 'no sandbox control endpoint' }, async () => {
  await simConfig({ installDelayMs: 4_000 });
  const c = await startRun('faults-redis-external', (x) => {
    x.spec.redis = {
      external: {
        host: 'localhost',
        port: Number(process.env.REDIS_PORT),
        tls: true,
        passwordSecretRef: { name: 'tfe-redis', key: 'password' },
        caSecretRef: { name: 'tfe-redis', key: 'ca.crt' },
      },
    } as TfeCluster['spec']['redis'];
  });
  await waitFor(k, NS, c.metadata.name!, inSingleNodeWait, 120_000, 'the single-node wait');
  await stopPart('redis');
  let down: TfeCluster;
  try {
    // The operator probes the Redis itself: it says so, and changes nothing meanwhile.
    down = await waitFor(k, NS, c.metadata.name!, (x) => x.status?.conditions?.some((d) => d.type === 'Degraded' && d.status === 'True') ?? false, 30_000, 'Degraded while Redis is down');
    const reason = down.status?.conditions?.find((d) => d.type === 'Degraded')?.reason;
    assert.equal(reason, 'RedisUnreachable', down.status?.message);
    assert.match(down.status?.message ?? '', /cannot reach Redis at localhost:\d+/);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(await capacityChanges(), [0, 1], 'the operator scaled while Redis was down');
  } finally {
    await startPart('redis');
  }
  // Probed again at the health interval (500 ms here), not at the 60 s resync.
  const back = Date.now();
  await waitFor(k, NS, c.metadata.name!, (x) => x.status?.phase !== 'Degraded', 20_000, 'the TfeCluster to leave Degraded once Redis is back');
  const resumedMs = Date.now() - back;
  const done = await ready(c, 'external Redis stop/start');
  assertNoCrash('external Redis stop/start');
  assert.deepEqual(await capacityChanges(), [0, 1, 0, 2], 'desired capacity changes of ASG tfe');
  assert.equal(done.status?.launchTemplate?.currentVersion, 3, 'two launch template versions, the second one current');
  assert.ok(resumedMs < 20_000);
});

/** After a restart, the watch must be alive again: a spec change is seen long before the 60 s resync. */
async function assertWatchAlive(c: TfeCluster, what: string) {
  const before = await getCluster(k, NS, c.metadata.name!);
  await updateSpec(k, NS, c.metadata.name!, { health: { ...before.spec.health, interval: '600ms' } });
  const t = Date.now();
  await waitFor(k, NS, c.metadata.name!, (x) => isReady(x) && x.metadata.generation! > before.metadata.generation!, 20_000, `${what}: the operator to see a spec change through its watch`);
  return Date.now() - t;
}

test('kube-apiserver restarts mid-migration: the migration finishes, the watch recovers', { skip: !hasPartControl() && 'no sandbox control endpoint' }, async () => {
  await simConfig({ installDelayMs: 4_000 });
  const c = await startRun('faults-apiserver');
  await waitFor(k, NS, c.metadata.name!, inSingleNodeWait, 120_000, 'the single-node wait');
  await restartPart('kube-apiserver');
  await waitForApi();
  const done = await ready(c, 'kube-apiserver restart');
  const end = await assertCleanEnd(done, 'kube-apiserver restart');
  if (baseline) assert.equal(end.current, baseline);
  assertNoCrash('kube-apiserver restart');
  assert.ok(op!.logs().some((l) => /watch: informer stopped/.test(String(l.msg))), 'the watch never noticed the API server going away');
  await assertWatchAlive(c, 'kube-apiserver restart');
});

test('etcd restarts mid-migration: the migration finishes, the watch recovers', { skip: !hasPartControl() && 'no sandbox control endpoint' }, async () => {
  await simConfig({ installDelayMs: 4_000 });
  const c = await startRun('faults-etcd');
  await waitFor(k, NS, c.metadata.name!, inSingleNodeWait, 120_000, 'the single-node wait');
  await restartPart('etcd');
  await waitForApi();
  const done = await ready(c, 'etcd restart');
  const end = await assertCleanEnd(done, 'etcd restart');
  if (baseline) assert.equal(end.current, baseline);
  assertNoCrash('etcd restart');
  await assertWatchAlive(c, 'etcd restart');
});

/** kube-apiserver answers TfeCluster reads again (its storage re-initialises lazily after a restart). */
async function waitForApi() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await k.custom.listNamespacedCustomObject({ group: 'tfe.operators.dev', version: 'v1alpha1', namespace: NS, plural: 'tfeclusters' });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`kube-apiserver not answering after the restart: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
