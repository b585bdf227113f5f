// Benchmark (not a test): one operator with N TfeClusters that are already Ready. For each N in
// --sizes it measures, with a fresh operator process (a restart):
//   - full resync: from the process start until every TfeCluster was reconciled once (a
//     `reconciled` debug log line per cluster);
//   - resident memory (VmRSS from /proc/<pid>/status) in steady state, and its high-water mark;
//   - AWS calls in steady state: after one resync period, over a window of one period (at least
//     --window-s, default 180 s), where the period is --resync (default 60 s), stretched to N / --resync-rate
//     seconds beyond --resync-rate x 60 clusters (src/controller/resync.ts);
//     reads per cluster per hour (extrapolated) and writes (must be 0), from moto's call log
//     (only calls whose user agent says tfe-operator/<this operator's id>).
//
//   node --import tsx bench/scale.ts [--sizes 1,100,1000] [--window-s 180] [--resync 60000] [--resync-rate 5]
//                                    [--install-delay-ms 300] [--parallel 8] [--keep]
//
// Setup (not measured): cluster 1 is the seeded `tfe/tfe`, migrated for real by a setup
// operator through the node simulator. Every clone i > 1 gets namespace `scale-<i>` with
// copies of the world's ConfigMap and Secrets (test/faults/world-extra.ts) and the migrated
// state of cluster 1 written straight into the AWS emulator for its own launch template, ASG
// `scale-<i>` and replication group `scale-redis-<i>` (bench/scale-world.ts): migrating 999
// clusters through the simulator does not fit on 2 cores. The simulator boots every clone's
// two nodes from that user data (it lists the groups every 2 s and re-checks a healthy node
// every 10 min from then on, instead of 100 ms and 1 s, so 2000 nodes fit). A check operator
// must then find every clone Ready with zero AWS writes (the clone is exactly what the
// operator would have made, or the run stops), and is stopped. Sizes grow incrementally.
//
// The operator runs from src/main.ts through tsx (as every e2e test does), or from
// $TFE_OPERATOR_ENTRY (e.g. dist/main.js after `make build`): the RSS includes what that
// loader costs. Starts its own sandbox in .sandbox-bench-scale (or uses SANDBOX_ENV) and stops
// it at the end (unless --keep).

import { report } from './report.ts';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchSandbox } from './sandbox.ts';
import { isReadOperation } from '../src/aws/clients.ts';
import { awsCalls, clearAwsCalls } from '../test/sandbox/moto.ts';
import type { OperatorProcess } from '../test/operator-process.ts';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../src/api/types.ts';
import { DEFAULT_RESYNC_RATE, resyncPeriodMs } from '../src/controller/resync.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,100,1000' },
    'window-s': { type: 'string', default: '180' },
    resync: { type: 'string', default: '60000' },
    'resync-rate': { type: 'string', default: String(DEFAULT_RESYNC_RATE) },
    'install-delay-ms': { type: 'string', default: '300' },
    parallel: { type: 'string', default: '8' },
    keep: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes!.split(',').map(Number).sort((a, b) => a - b);
const windowMs = Number(values['window-s']) * 1000;
const resyncMs = Number(values.resync);
const resyncRate = Number(values['resync-rate']);
const installDelayMs = Number(values['install-delay-ms']);
const parallel = Number(values.parallel);
if (sizes.some((n) => !(Number.isInteger(n) && n >= 1)) || !(windowMs > 0) || !(resyncMs > 0) || !(resyncRate > 0)) {
  console.error('usage: --sizes 1,100,1000 --window-s 180 --resync 60000 --resync-rate 5');
  process.exit(2);
}

const sandbox = await benchSandbox('scale');
const harness = await import('../test/harness.ts');
const support = await import('../test/e2e/support.ts');
const extra = await import('../test/faults/world-extra.ts');
const scaleWorld = await import('./scale-world.ts');
const k = support.kube();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const isRead = (action: string | null) => isReadOperation(action ?? '');
const { instanceOf } = await import('../test/e2e/ha-support.ts');
const mine = (x: Parameters<typeof instanceOf>[0], id: string) => instanceOf(x) === id;

async function listClusters(): Promise<TfeCluster[]> {
  return ((await k.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: TfeCluster[] }).items;
}

function rssKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Keys of the TfeClusters this operator logged `reconciled` for, scanning new lines only. */
function reconciledTracker(op: OperatorProcess) {
  const seen = new Set<string>();
  let scanned = 0;
  return () => {
    for (; scanned < op.lines.length; scanned++) {
      const line = op.lines[scanned]!;
      if (!line.includes('"reconciled"')) continue;
      try {
        const l = JSON.parse(line) as { msg?: string; tfecluster?: string };
        if (l.msg === 'reconciled' && l.tfecluster) seen.add(l.tfecluster);
      } catch {
        /* not JSON */
      }
    }
    return seen;
  };
}

const world = await harness.resetWorld();
await fetch(`${process.env.TFE_SIM_URL}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ installDelayMs }) });

function clusterFor(i: number): TfeCluster {
  return support.exampleCluster((c) => {
    if (i === 1) return; // the seeded tfe/tfe
    c.metadata.namespace = `scale-${i}`;
    c.spec.autoScalingGroupName = `scale-${i}`;
    c.spec.launchTemplate = { name: `scale-${i}` } as TfeCluster['spec']['launchTemplate'];
    c.spec.redis.elastiCache!.replicationGroupId = `scale-redis-${i}`;
  });
}

async function simConfig(patch: object): Promise<void> {
  const res = await fetch(`${process.env.TFE_SIM_URL}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
  if (!res.ok) throw new Error(`POST /sim/config: HTTP ${res.status}: ${await res.text()}`);
}

/** Waits until every TfeCluster is Ready; fails on the first Degraded one. */
async function waitAllReady(n: number, what: string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const all = await listClusters();
    const ready = all.filter(support.isReady).length;
    const degraded = all.find((c) => c.status?.phase === 'Degraded');
    if (degraded) throw new Error(`${what}: Degraded: ${degraded.metadata.namespace}/${degraded.metadata.name}: ${degraded.status?.message}`);
    if (ready === n) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: timed out, ${ready}/${n} Ready`);
    log(`${what}: ${ready}/${n} Ready`);
    await sleep(5_000);
  }
}

/** Waits until the simulator has `count` healthy nodes (an unhealthy one re-checks within 1 s). */
async function waitNodesHealthy(count: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const nodes = (await support.simState()).nodes;
    const healthy = nodes.filter((x) => x.state === 'healthy').length;
    if (healthy >= count) return;
    const bad = nodes.filter((x) => x.state === 'unhealthy');
    const why = bad.length ? ` (${bad.length} unhealthy, e.g. ${bad[0]!.id} of ${bad[0]!.asg}: ${bad[0]!.reason})` : '';
    if (Date.now() - t0 > 20 * 60_000) throw new Error(`simulator: ${healthy}/${count} nodes healthy after 20 min${why}`);
    log(`simulator: ${healthy}/${count} nodes healthy${why}`);
    await sleep(5_000);
  }
}

const cloneNames = (i: number) => ({ namespace: `scale-${i}`, name: 'tfe', asg: `scale-${i}`, launchTemplate: `scale-${i}`, replicationGroupId: `scale-redis-${i}`, subnets });
let migrated: Awaited<ReturnType<typeof scaleWorld.readMigrated>> | undefined;
let subnets: string | undefined;

/** Clusters from..to Ready (see the file's comment); throws if the check operator writes to AWS. */
async function setUp(from: number, to: number): Promise<void> {
  if (from === 1) {
    log('migrating cluster 1 (tfe/tfe) for real ...');
    const setup = await support.operator('scale-setup-1');
    await support.createCluster(k, clusterFor(1));
    await waitAllReady(1, 'cluster 1', 10 * 60_000);
    await setup.stop();
    from = 2;
  }
  if (from > to) return;
  migrated ??= await scaleWorld.readMigrated({ namespace: 'tfe', name: 'tfe', asg: 'tfe', launchTemplate: 'tfe', replicationGroupId: 'tfe-redis' });
  await simConfig({ pollMs: 2000, recheckMs: 600_000 });
  const ids = Array.from({ length: to - from + 1 }, (_, j) => from + j);
  log(`writing the migrated state of clusters ${from}..${to} ...`);
  let done = 0;
  const aws = scaleWorld.cloneClients();
  subnets ??= await scaleWorld.createCloneSubnets(aws, world.vpcId, world.availabilityZones);
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = ids.shift(); i !== undefined; i = ids.shift()) {
        await scaleWorld.writeClone(aws, migrated!, cloneNames(i));
        await extra.copyWorldObjects(k, `scale-${i}`);
        await support.createCluster(k, clusterFor(i));
        if (++done % 50 === 0) log(`  ${done}/${to - from + 1} written`);
      }
    }),
  ).finally(() => scaleWorld.destroyClients(aws));
  await waitNodesHealthy(to * migrated.asg.desired);
  const id = `scale-check-${to}`;
  await clearAwsCalls(process.env.AWS_ENDPOINT_URL!);
  const check = await support.operator(id);
  await waitAllReady(to, `check operator (N=${to})`, 60 * 60_000);
  await check.stop();
  const writes = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => mine(x, id) && !isRead(x.action));
  if (writes.length) throw new Error(`the check operator wrote to AWS for clusters it should find Ready: ${writes.slice(0, 10).map((x) => x.action).join(', ')}`);
}

interface Row {
  n: number;
  periodS: number;
  windowS: number;
  setupS: number;
  syncedMs: number;
  resyncMs: number;
  rssMiB: number;
  hwmMiB: number;
  reads: number;
  writes: number;
  readsPerClusterHour: number;
  writeOps: string;
  entry: string;
}
const rows: Row[] = [];
let have = 0;
const started = Date.now();
try {
  for (const n of sizes) {
    // ---- setup: clusters have+1..n (not measured)
    const setupStart = Date.now();
    if (n > have) {
      await setUp(have + 1, n);
      have = n;
    }
    const setupS = (Date.now() - setupStart) / 1000;
    log(`N=${n}: all Ready after ${setupS.toFixed(0)} s of setup; restarting the operator`);

    // ---- measure: a fresh operator (the restart)
    const id = `scale-${n}`;
    const t0 = Date.now();
    const op = await support.operator(id, {}, ['--resync', String(resyncMs), '--resync-rate', String(resyncRate)]);
    const reconciled = reconciledTracker(op);
    await op.waitForLog((l) => l.msg === 'watch cache synced: ready', 300_000);
    const syncedMs = Date.now() - t0;
    for (;;) {
      if (reconciled().size >= n) break;
      if (op.proc.exitCode !== null) throw new Error(`operator exited: ${op.lines.slice(-10).join('\n')}`);
      if (Date.now() - t0 > 30 * 60_000) throw new Error(`full resync timed out: ${reconciled().size}/${n}`);
      await sleep(20);
    }
    const fullResyncMs = Date.now() - t0;
    // Steady state: every cluster is Ready and observed; from now on only resyncs happen, each
    // cluster once per period (+-10%). The first round after the full resync is skipped (the
    // clusters were all reconciled within the full resync, so their next round bunches), then
    // the window lasts at least one period.
    const periodMs = resyncPeriodMs(resyncMs, n, resyncRate);
    const window = Math.max(windowMs, periodMs);
    log(`N=${n}: full resync in ${fullResyncMs} ms; resync period ${periodMs / 1000} s: settling ${periodMs / 1000} s, then a ${window / 1000} s window ...`);
    await sleep(periodMs);
    await clearAwsCalls(process.env.AWS_ENDPOINT_URL!);
    const w0 = Date.now();
    await sleep(window);
    const w1 = Date.now();
    const { rss, hwm } = rssKiB(op.proc.pid!);
    const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => mine(x, id) && Date.parse(x.ts) >= w0 && Date.parse(x.ts) <= w1);
    const writes = calls.filter((x) => !isRead(x.action));
    const reads = calls.length - writes.length;
    const notReady = (await listClusters()).filter((c) => !support.isReady(c)).length;
    if (notReady) log(`N=${n}: WARNING ${notReady} cluster(s) not Ready at the end of the window`);
    await op.stop();
    rows.push({
      n,
      periodS: periodMs / 1000,
      windowS: (w1 - w0) / 1000,
      setupS,
      syncedMs,
      resyncMs: fullResyncMs,
      rssMiB: rss / 1024,
      hwmMiB: hwm / 1024,
      reads,
      writes: writes.length,
      readsPerClusterHour: (reads / n) * (3_600_000 / (w1 - w0)),
      writeOps: [...new Set(writes.map((x) => x.action))].join(', '),
      entry: process.env.TFE_OPERATOR_ENTRY ?? 'src/main.ts (tsx)',
    });
    const r = rows.at(-1)!;
    log(`N=${n}: watch synced ${r.syncedMs} ms, full resync ${r.resyncMs} ms, RSS ${r.rssMiB.toFixed(1)} MiB (peak ${r.hwmMiB.toFixed(1)}), ${r.reads} reads in ${(w1 - w0) / 1000} s = ${r.readsPerClusterHour.toFixed(0)}/cluster/hour, ${r.writes} writes`);
  }
} finally {
  await sandbox.stop(values.keep!);
}

const out: string[] = [];
out.push(`\nN Ready TfeClusters on one operator (restart, --resync ${resyncMs} --resync-rate ${resyncRate}; entry ${rows[0]?.entry ?? '-'})`);
out.push('clusters  watch synced (ms)  full resync (ms)  after sync (ms)  RSS (MiB)  RSS peak (MiB)  period (s)  window (s)  AWS reads in window  reads/cluster/hour  AWS writes');
for (const r of rows) {
  out.push(
    `${String(r.n).padStart(8)}  ${String(r.syncedMs).padStart(17)}  ${String(r.resyncMs).padStart(16)}  ${String(r.resyncMs - r.syncedMs).padStart(15)}  ${r.rssMiB.toFixed(1).padStart(9)}  ${r.hwmMiB.toFixed(1).padStart(14)}  ${r.periodS.toFixed(0).padStart(10)}  ${r.windowS.toFixed(0).padStart(10)}  ${String(r.reads).padStart(19)}  ${r.readsPerClusterHour.toFixed(0).padStart(18)}  ${String(r.writes).padStart(10)}${r.writeOps ? ` (${r.writeOps})` : ''}`,
  );
}
out.push(`\n(setup: ${rows.map((r) => `N=${r.n} ${r.setupS.toFixed(0)} s`).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
report(out);

process.exit(rows.some((r) => r.writes > 0) ? 1 : 0);
