// Observability of a running operator against the sandbox: /readyz stays 503 until the watch
// cache has synced; /metrics exposes reconciles, queue, per-TfeCluster step and nodes, step
// durations, AWS calls and leadership, with values that move during a real migration (and AWS
// call counts that match what the AWS emulator saw); every log line of a reconcile names the
// TfeCluster; no secret value reaches a log line.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../sandbox/ports.ts';
import { parse, stringify } from 'yaml';
import { resetWorld } from '../harness.ts';
import { awsCalls } from '../sandbox/moto.ts';
import { SECRET_VALUES } from '../sandbox/world.ts';
import { isReadOperation } from '../../src/aws/clients.ts';
import type { OperatorProcess } from '../operator-process.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, operator } from './support.ts';

const k = kube();
const running: OperatorProcess[] = [];
let scratch: string;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format -> samples (enough of it for prom-client's output). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function pick(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k2, v]) => s.labels[k2] === v));
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = pick(samples, name, labels);
  return found.length ? found.reduce((a, s) => a + s.value, 0) : undefined;
}

async function scrape(op: OperatorProcess): Promise<Sample[]> {
  const r = await fetch(`${op.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200);
  return parseMetrics(await r.text());
}

async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A TCP proxy to the kube-apiserver that holds every connection until release(): the
 * operator's first LIST cannot complete, so its watch cache cannot sync, until then.
 */
async function holdingProxy(target: { host: string; port: number }) {
  let released = false;
  const held: Socket[] = [];
  const open = new Set<Socket>();
  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.resume();
  };
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    if (released) forward(client);
    else {
      client.pause();
      held.push(client);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    release() {
      released = true;
      for (const c of held.splice(0)) forward(c);
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

before(async () => {
  await resetWorld();
  scratch = mkdtempSync(join(tmpdir(), 'tfe-metrics-'));
});

after(async () => {
  for (const op of running) await op.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('/readyz stays 503 while the apiserver refuses connections (the first list failed: nothing synced)', async () => {
  const kc = parse(readFileSync(process.env.KUBECONFIG!, 'utf8'));
  const ctx = kc.contexts.find((c: { name: string }) => c.name === kc['current-context']).context;
  const cluster = kc.clusters.find((c: { name: string }) => c.name === ctx.cluster).cluster;
  cluster.server = `https://127.0.0.1:${await freePort()}`; // nothing listens there
  const file = join(scratch, 'kubeconfig-refused');
  writeFileSync(file, stringify(kc), { mode: 0o600 });
  const op = await operator('readyz-refused', { KUBECONFIG: file });
  running.push(op);
  await until('/healthz 200', async () => ((await httpStatus(`${op.url}/healthz`)) === 200 ? true : undefined));
  await op.waitForLog((l) => String(l.msg).startsWith('watch: informer stopped'), 10_000);
  for (let i = 0; i < 8; i++) {
    assert.equal(await httpStatus(`${op.url}/readyz`), 503, 'ready although the list was refused');
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(!op.logs().some((l) => String(l.msg).startsWith('watch cache synced')), 'logged "synced" after a refused list');
  await op.stop();
});

test('/readyz answers 503 until the watch cache has synced, then 200; /healthz and /metrics answer meanwhile', async () => {
  const kc = parse(readFileSync(process.env.KUBECONFIG!, 'utf8'));
  const ctx = kc.contexts.find((c: { name: string }) => c.name === kc['current-context']).context;
  const cluster = kc.clusters.find((c: { name: string }) => c.name === ctx.cluster).cluster;
  const server = new URL(cluster.server);
  const proxy = await holdingProxy({ host: server.hostname, port: Number(server.port || 443) });
  try {
    cluster.server = `https://127.0.0.1:${proxy.port}`;
    const file = join(scratch, 'kubeconfig-via-proxy');
    writeFileSync(file, stringify(kc), { mode: 0o600 });
    const op = await operator('readyz-e2e', { KUBECONFIG: file });
    running.push(op);

    await until('/healthz 200', async () => ((await httpStatus(`${op.url}/healthz`)) === 200 ? true : undefined));
    for (let i = 0; i < 8; i++) {
      assert.equal(await httpStatus(`${op.url}/readyz`), 503, 'ready before the watch cache synced');
      await new Promise((r) => setTimeout(r, 250));
    }
    const samples = await scrape(op);
    assert.equal(value(samples, 'tfe_operator_reconcile_total'), 0);
    assert.ok(!op.logs().some((l) => String(l.msg).startsWith('watch cache synced')), 'logged "synced" before it was');

    proxy.release();
    await until('/readyz 200 after the list went through', async () => ((await httpStatus(`${op.url}/readyz`)) === 200 ? true : undefined), 60_000);
    await op.waitForLog((l) => String(l.msg).startsWith('watch cache synced'), 10_000);
    await op.stop();
  } finally {
    await proxy.close();
  }
});

test('/metrics during a migration: reconciles, steps, nodes, AWS calls move; logs name the TfeCluster', async () => {
  // --relist 3000: the watch is restarted every 3 s, to show that a planned relist is not
  // counted (or logged) as a broken watch.
  const op = await operator('metrics-e2e', {}, ['--relist', '3000']);
  running.push(op);
  await until('/readyz 200', async () => ((await httpStatus(`${op.url}/readyz`)) === 200 ? true : undefined));

  const first = await scrape(op);
  for (const name of [
    'tfe_operator_reconcile_total',
    'tfe_operator_queue_depth',
    'tfe_operator_reconciles_in_flight',
    'tfe_operator_leader',
    'tfe_operator_watch_restarts_total',
  ]) {
    assert.ok(pick(first, name).length > 0, `${name} is not exported before the first reconcile`);
  }
  assert.equal(value(first, 'tfe_operator_reconcile_total'), 0);
  assert.equal(value(first, 'tfe_operator_leader'), 1);

  const c = exampleCluster();
  await createCluster(k, c);
  const key = `${c.metadata.namespace}/${c.metadata.name}`;

  const snapshots: Sample[][] = [];
  const deadline = Date.now() + 240_000;
  for (;;) {
    snapshots.push(await scrape(op));
    if (isReady(await getCluster(k, c.metadata.namespace!, c.metadata.name!))) break;
    assert.ok(Date.now() < deadline, 'the migration did not reach Ready in time');
    await new Promise((r) => setTimeout(r, 250));
  }
  const last = await scrape(op);
  snapshots.push(last);

  // The reconcile counter only grows, and grew a lot.
  const counts = snapshots.map((s) => value(s, 'tfe_operator_reconcile_total', { result: 'ok' }) ?? 0);
  counts.forEach((n, i) => i > 0 && assert.ok(n >= counts[i - 1], `reconcile_total went down: ${counts.join(',')}`));
  assert.ok(counts[counts.length - 1] >= 10, `only ${counts[counts.length - 1]} reconciles`);
  assert.ok((value(last, 'tfe_operator_reconcile_duration_seconds_count', { result: 'ok' }) ?? 0) === counts[counts.length - 1]);
  assert.equal(value(last, 'tfe_operator_reconcile_total', { result: 'error' }), 0);

  // One step series per TfeCluster at any time; the step moved forward through the migration.
  const stepsSeen: string[] = [];
  for (const s of snapshots) {
    const series = pick(s, 'tfe_operator_cluster_step', { tfecluster: key });
    assert.ok(series.length <= 1, `several step series at once: ${JSON.stringify(series)}`);
    const step = series[0]?.labels.step;
    if (step && stepsSeen[stepsSeen.length - 1] !== step) stepsSeen.push(step);
  }
  const order = ['Validate', 'Redis', 'SingleNode', 'ScaleOut', 'Done'];
  assert.deepEqual(stepsSeen.filter((x) => order.includes(x)), order.filter((x) => stepsSeen.includes(x)), `steps out of order: ${stepsSeen.join(' -> ')}`);
  for (const step of ['SingleNode', 'ScaleOut', 'Done']) assert.ok(stepsSeen.includes(step), `step ${step} never seen: ${stepsSeen.join(' -> ')}`);
  assert.deepEqual(pick(last, 'tfe_operator_cluster_step', { tfecluster: key }).map((s) => [s.labels.step, s.labels.phase, s.value]), [['Done', 'Ready', 1]]);
  for (const step of ['Validate', 'Redis', 'SingleNode', 'ScaleOut']) {
    assert.ok((value(last, 'tfe_operator_step_duration_seconds_count', { step }) ?? 0) >= 1, `no duration recorded for step ${step}`);
  }
  assert.ok((value(last, 'tfe_operator_step_duration_seconds_sum', { step: 'SingleNode' }) ?? 0) > 0);

  assert.equal(value(last, 'tfe_operator_cluster_nodes', { tfecluster: key, state: 'desired' }), 2);
  assert.equal(value(last, 'tfe_operator_cluster_nodes', { tfecluster: key, state: 'ready' }), 2);
  const readySeries = snapshots.map((s) => value(s, 'tfe_operator_cluster_nodes', { tfecluster: key, state: 'ready' })).filter((v) => v !== undefined);
  assert.ok(readySeries.includes(0) || readySeries.includes(1), `ready nodes never below 2 during the migration: ${readySeries.join(',')}`);

  // AWS calls: the mutating ones match, operation by operation, what the emulator saw from
  // this operator (its user agent names it); the migration's creations happened exactly once.
  const mine = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => (x.userAgent ?? '').includes(`tfe-operator/${op.id}`));
  const mutating = new Map<string, number>();
  for (const call of mine) if (call.action && !isReadOperation(call.action)) mutating.set(call.action, (mutating.get(call.action) ?? 0) + 1);
  const metricMutating = new Map<string, number>();
  for (const s of pick(last, 'tfe_operator_aws_calls_total')) {
    if (!isReadOperation(s.labels.operation) && s.value > 0) metricMutating.set(s.labels.operation, (metricMutating.get(s.labels.operation) ?? 0) + s.value);
  }
  assert.deepEqual(Object.fromEntries([...metricMutating].sort()), Object.fromEntries([...mutating].sort()));
  assert.equal(value(last, 'tfe_operator_aws_calls_total', { operation: 'CreateReplicationGroup', outcome: 'ok' }), 1);
  assert.equal(value(last, 'tfe_operator_aws_calls_total', { operation: 'CreateLaunchTemplateVersion', outcome: 'ok' }), 2);
  assert.ok((value(last, 'tfe_operator_aws_calls_total', { operation: 'UpdateAutoScalingGroup', outcome: 'ok' }) ?? 0) >= 4);
  assert.ok((value(last, 'tfe_operator_aws_calls_total', { operation: 'DescribeAutoScalingGroups', outcome: 'ok' }) ?? 0) >= counts[counts.length - 1]);

  // Relists happened and none counted as a broken watch.
  assert.ok((value(last, 'tfe_operator_watch_restarts_total', { reason: 'relist' }) ?? 0) >= 1, 'no relist in the run');
  assert.equal(value(last, 'tfe_operator_watch_restarts_total', { reason: 'error' }), 0);
  assert.ok(!op.logs().some((l) => String(l.msg).includes('informer stopped')), 'a planned relist was logged as a broken watch');

  // Logs: every line about a reconcile carries tfecluster; the actions are all there.
  const logs = op.logs();
  const reconcileLines = logs.filter((l) => 'action' in l || 'step' in l || 'phase' in l || l.msg === 'reconciled' || String(l.msg).startsWith('act:'));
  assert.ok(reconcileLines.length >= 20, `only ${reconcileLines.length} reconcile log lines`);
  const unnamed = reconcileLines.filter((l) => l.tfecluster !== key);
  assert.deepEqual(unnamed, [], 'reconcile log lines without tfecluster');
  const acted = new Set(logs.filter((l) => String(l.msg).startsWith('act:')).map((l) => l.action));
  for (const kind of ['TagAsg', 'CreateReplicationGroup', 'CreateLaunchTemplateVersion', 'RollAsg', 'ScaleAsg']) {
    assert.ok(acted.has(kind), `no "act:" log line for ${kind}: ${[...acted].join(', ')}`);
  }
  assert.ok([...acted].some((a) => String(a).startsWith('PutSecret')), `no "act:" log line storing secrets: ${[...acted].join(', ')}`);
  const text = op.lines.join('\n');
  for (const secret of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword, process.env.REDIS_PASSWORD].filter((s): s is string => !!s)) {
    assert.ok(!text.includes(secret), 'a secret value is in the operator log');
  }
  assert.ok(!(await fetch(`${op.url}/metrics`).then((r) => r.text())).includes(SECRET_VALUES.encPassword), 'a secret value is in /metrics');
});
