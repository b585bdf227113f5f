// Benchmark (not a test): leader failover time of `tfe-operator run --leader-elect`, for
// SIGKILL (the Lease must expire) and SIGTERM (the leader hands the Lease over), against the
// sandbox's real kube-apiserver. Several replicas run; the leader is killed over and over and
// restarted under the same id (it comes back as a follower). Failover time is measured from
// the signal to the new leader's "ha: acquired leadership lock" log line.
//
//   node --import tsx bench/failover.ts [--kills 20] [--lease-duration 2s] [--renew-deadline 1500ms]
//                                       [--retry-period 500ms] [--replicas 3] [--signals SIGKILL,SIGTERM] [--keep]
//
// Starts its own sandbox in .sandbox-bench-failover (or uses SANDBOX_ENV) and stops it at the
// end (unless --keep). The replicas watch an empty namespace: they compete for the Lease and
// touch no TfeCluster. Each kill waits for a steady state first (every replica up and
// following), so one process start-up per kill dominates the run time: about 4 minutes on an
// idle machine, 18 measured on a 2-core machine with a load average of 15; --kills changes it.

import { pct, report } from './report.ts';
import { parseArgs } from 'node:util';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { benchSandbox } from './sandbox.ts';
import type { Replica } from '../test/e2e/ha-support.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    'lease-duration': { type: 'string', default: '2s' },
    'renew-deadline': { type: 'string', default: '1500ms' },
    'retry-period': { type: 'string', default: '500ms' },
    replicas: { type: 'string', default: '3' },
    signals: { type: 'string', default: 'SIGKILL,SIGTERM' },
    keep: { type: 'boolean', default: false },
  },
});
const kills = Number(values.kills);
const replicaCount = Number(values.replicas);
const signals = values.signals!.split(',').map((s) => s.trim().toUpperCase()) as NodeJS.Signals[];
if (!(kills > 0) || !(replicaCount >= 2) || signals.some((s) => s !== 'SIGKILL' && s !== 'SIGTERM')) {
  console.error('usage: --kills N (>0) --replicas N (>=2) --signals SIGKILL,SIGTERM');
  process.exit(2);
}

const sandbox = await benchSandbox('failover');
const ha = await import('../test/e2e/ha-support.ts');

const timing = { leaseDuration: values['lease-duration']!, renewDeadline: values['renew-deadline']!, retryPeriod: values['retry-period']! };
const leaseMs = ha.ms(timing.leaseDuration);
const retryMs = ha.ms(timing.retryPeriod);
const NS = 'tfe-operator-bench';

const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
try {
  await core.createNamespace({ body: { metadata: { name: NS } } });
} catch (err) {
  if ((err as { code?: number }).code !== 409) throw err;
}
for (const l of (await coordination.listNamespacedLease({ namespace: NS })).items) {
  await coordination.deleteNamespacedLease({ name: l.metadata!.name!, namespace: NS });
}

// Watch only the (empty) lease namespace: no TfeCluster is touched.
const args = [...ha.haArgs(NS, timing), '--namespace', NS];
const replicas = Array.from({ length: replicaCount }, (_, i) => new ha.Replica(`failover-${i + 1}`, args));

async function holder(): Promise<string | undefined> {
  try {
    const l = await coordination.readNamespacedLease({ name: 'tfe-operator-leader', namespace: NS });
    return l.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

/** Competing and following `leaderId` (it saw that leader's record), for at least one retry period. */
function readyFollower(r: Replica, leaderId: string): boolean {
  if (!r.alive) return false;
  const seen = r.proc.logs().find((l) => l.msg === 'ha: new leader observed' && l.leader === leaderId);
  return seen !== undefined && Date.now() - ha.timeOf(seen) >= retryMs;
}

const results: Record<string, number[]> = {};
let failed = 0;
const started = Date.now();
try {
  await Promise.all(replicas.map((r) => r.start()));
  await ha.nextLeader(replicas, 0, 120_000);
  for (const sig of signals) {
    results[sig] = [];
    for (let i = 1; i <= kills; i++) {
      // Steady state before each kill: every replica up, one leading, all others following it
      // (no process is starting up: on a small machine that would slow down everyone).
      const leaderId = await ha.until('a steady leader and ready followers', 180_000, async () => {
        const h = await holder();
        const leader = replicas.find((r) => r.id === h && r.alive && r.lines(ha.ACQUIRED).length > 0);
        return leader && replicas.every((r) => r === leader || readyFollower(r, leader.id)) ? leader.id : undefined;
      });
      const leader = replicas.find((r) => r.id === leaderId)!;
      const old = leader.proc;
      const sentAt = leader.signal(sig);
      try {
        const next = await ha.nextLeader(
          replicas.filter((r) => r !== leader),
          sentAt,
          leaseMs + 2 * retryMs + 30_000,
        );
        results[sig].push(next.at - sentAt);
        process.stdout.write(`${sig} ${String(i).padStart(2)}/${kills}: ${leader.id} -> ${next.replica.id} in ${next.at - sentAt} ms\n`);
      } catch (err) {
        failed++;
        console.error(`${sig} ${i}: ${(err as Error).message}`);
      }
      // Back under the same id, as a follower.
      await old.exited;
      await leader.start();
    }
  }
} finally {
  await Promise.all(replicas.filter((r) => r.alive).map((r) => r.proc.stop('SIGKILL')));
}


const out: string[] = [];
out.push(
  `\nLeader failover, ${replicaCount} replicas; lease duration ${timing.leaseDuration}, renew deadline ${timing.renewDeadline}, retry period ${timing.retryPeriod}`,
);
out.push('from the signal to the new leader\'s "ha: acquired leadership lock" (ms)\n');
out.push('signal    kills  median     p95     max   lease  retry  expected');
for (const sig of signals) {
  const xs = [...(results[sig] ?? [])].sort((a, b) => a - b);
  if (xs.length === 0) continue;
  // SIGKILL: followers wait one lease duration from the last renewal they saw, which was up to one
  // retry period before the kill, then find it expired at their next (jittered) attempt.
  const expected =
    sig === 'SIGKILL'
      ? `lease - retry .. lease + 1.2 x retry (${leaseMs - retryMs}..${leaseMs + 1.2 * retryMs}) + round trips`
      : `release + 1.2 x retry at most (${1.2 * retryMs}) + round trips`;
  out.push(
    `${sig.padEnd(8)}  ${String(xs.length).padStart(5)}  ${String(pct(xs, 50)).padStart(6)}  ${String(pct(xs, 95)).padStart(6)}  ${String(xs.at(-1)).padStart(6)}  ${String(leaseMs).padStart(6)}  ${String(retryMs).padStart(5)}  ${expected}`,
  );
}
if (failed) out.push(`\n${failed} kill(s) without a new leader in time`);
out.push(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);

report(out);

await sandbox.stop(values.keep!);
process.exit(failed ? 1 : 0);
