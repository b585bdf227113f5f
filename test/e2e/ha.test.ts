// High availability, end to end: three `tfe-operator run --leader-elect` processes against
// the sandbox's real kube-apiserver, moto, Redis and the TFE node simulator.
//
//   1. exactly one leads; followers redirect /v1/status to it; /v1/status/cluster lists all
//   2. the leader is SIGKILLed in the middle of the migration: another replica takes over
//      (its logs say so, as Consul-Terraform-Sync's do) and finishes without a duplicate action
//   3. the killed replica restarts under the same id and stays a follower
//   4. SIGTERM: the leader hands the Lease over; a follower leads within 2 seconds
//   5. a leader cut off from the apiserver (its kubeconfig goes through a TCP proxy that we cut)
//      stops acting at its renew deadline: its AWS calls do not go through that proxy, so it is
//      the fence, not the network, that stops it; a stale reconcile of it is refused on the way
//   6. over the whole run, from moto's own call log: the instances' mutating calls never
//      interleave across leadership terms (no two instances ever act at once)
//
// Timing: lease 3s, renew deadline 2s, retry period 500ms. Bounds on liveness (how fast a
// takeover happens) carry slack for a loaded 2-core machine; the safety checks carry none.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { resetWorld } from '../harness.ts';
import { asgHistory, awsCalls } from '../sandbox/moto.ts';
import { ROOT, statusAuth } from '../operator-process.ts';
import { startAwsFaultProxy, type AwsFaultProxy } from '../faults/aws-proxy.ts';
import { assertCleanEnd, successes } from '../faults/end-state.ts';
import { patchCluster } from '../../src/kube/client.ts';
import type { TfeCluster } from '../../src/api/types.ts';
import { createCluster, exampleCluster, getCluster, isReady, kube, simState, waitFor } from './support.ts';
import {
  ACQUIRED,
  ALL_TASKS,
  ATTEMPTING,
  LOST,
  RELEASED,
  Replica,
  haArgs,
  leadershipTerms,
  ms,
  mutatingCalls,
  nextLeader,
  proxiedKubeconfig,
  runsOf,
  safetyViolations,
  timeOf,
  until,
  type CuttableProxy,
} from './ha-support.ts';

const LEASE_NS = 'tfe-operator-ha-e2e';
const TIMING = { leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' };
const LEASE_MS = ms(TIMING.leaseDuration);
const RENEW_MS = ms(TIMING.renewDeadline);
const RETRY_MS = ms(TIMING.retryPeriod);
/** Extra time allowed for liveness on a loaded 2-core machine (process scheduling, tsx). */
const SLACK_MS = 3000;

const k = kube();
const NAME = 'tfe';
const endpoint = () => process.env.AWS_ENDPOINT_URL!;
const ids = ['ha-a', 'ha-b', 'ha-c'];
const replicas: Replica[] = [];
let kubeProxy: CuttableProxy | undefined;
let awsProxy: AwsFaultProxy | undefined;

function coordination(): CoordinationV1Api {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc.makeApiClient(CoordinationV1Api);
}

async function leaseHolder(): Promise<string | undefined> {
  const l = await coordination().readNamespacedLease({ name: 'tfe-operator-leader', namespace: LEASE_NS });
  return l.spec?.holderIdentity || undefined;
}

interface ClusterView {
  self: { id: string; address?: string; leader: boolean };
  leader: { id: string; address: string } | null;
  members: Array<{ id: string; address: string; healthy: boolean; leader: boolean }>;
}

async function clusterView(r: Replica): Promise<ClusterView> {
  const res = await fetch(`${r.proc.url}/v1/status/cluster`, { headers: statusAuth(), signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  return (await res.json()) as ClusterView;
}

/** A follower's /v1/status: 307 to the leader's, with a body naming the leader. */
async function assertRedirects(follower: Replica, leader: Replica): Promise<void> {
  // 503 "no leader is known" is the answer while the follower's last Lease read is stale; ask again.
  const { res, body } = await until(`${follower.id} /v1/status to answer other than 503`, 2 * LEASE_MS, async () => {
    const r = await fetch(`${follower.proc.url}/v1/status`, { headers: statusAuth(), redirect: 'manual', signal: AbortSignal.timeout(5_000) });
    const b = (await r.json()) as { leader?: { id: string; address: string } };
    return r.status === 503 ? undefined : { res: r, body: b };
  });
  assert.equal(res.status, 307, `${follower.id} /v1/status: ${res.status} ${JSON.stringify(body)}`);
  assert.equal(res.headers.get('location'), `${leader.proc.url}/v1/status`);
  assert.deepEqual(body.leader, { id: leader.id, address: leader.proc.url });
}

/** Whoever the Lease names, as a replica of this test. */
async function currentLeader(): Promise<Replica> {
  const holder = await until('a Lease holder', 30_000, () => leaseHolder());
  const r = replicas.find((x) => x.id === holder);
  assert.ok(r, `the Lease names ${holder}, not a replica of this test`);
  return r;
}

/** The new leader's log: attempting (at any time before), acquired, then all tasks once through. */
async function assertTakeoverLogs(r: Replica, since: number): Promise<void> {
  const acquired = (logs: Array<Record<string, unknown>>) => logs.findIndex((l) => l.msg === ACQUIRED && timeOf(l) >= since);
  // The lines arrive through a pipe: the one after "acquired" may not be read yet.
  const logs = await until(`${r.id}: "${ALL_TASKS}" after "${ACQUIRED}"`, 10_000, () => {
    const l = r.proc.logs();
    const i = acquired(l);
    return i >= 0 && l.slice(i).some((x) => x.msg === ALL_TASKS) ? l : undefined;
  });
  const iAcq = acquired(logs);
  assert.ok(logs.slice(0, iAcq).some((l) => l.msg === ATTEMPTING), `${r.id}: "${ATTEMPTING}" not logged before "${ACQUIRED}"`);
  assert.equal(logs[iAcq]!.lock_path, `${LEASE_NS}/tfe-operator-leader`);
}

function report(t: TestContext, what: string): void {
  t.diagnostic(what);
  console.log(`  [ha] ${what}`);
}

before(async () => {
  await resetWorld();
  // The simulator's nodes install in 3 s: the migration spends a few seconds in SingleNode.
  await fetch(`${process.env.TFE_SIM_URL}/sim/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ installDelayMs: 3000, neverHealthy: false }),
  });
  try {
    await k.core.createNamespace({ body: { metadata: { name: LEASE_NS } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  const leases = await coordination().listNamespacedLease({ namespace: LEASE_NS });
  for (const l of leases.items) await coordination().deleteNamespacedLease({ name: l.metadata!.name!, namespace: LEASE_NS });
  for (const id of ids) replicas.push(new Replica(id, haArgs(LEASE_NS, TIMING)));
});

after(async () => {
  await Promise.all(replicas.filter((r) => r.alive).map((r) => r.proc.stop('SIGKILL')));
  await kubeProxy?.close();
  await awsProxy?.close();
});

test('three replicas: exactly one leads; followers redirect /v1/status to it; /v1/status/cluster lists three members, one leader', async (t) => {
  await Promise.all(replicas.map((r) => r.start()));
  const first = await nextLeader(replicas, 0, 120_000);
  await until('every replica to compete', 120_000, () => replicas.every((r) => r.lines(ATTEMPTING).length > 0) || undefined);
  const leader = first.replica;
  await until('three healthy members', 60_000, async () => {
    const v = await clusterView(leader);
    return v.members.filter((m) => m.healthy).length === 3 || undefined;
  });
  assert.equal(await leaseHolder(), leader.id);

  // Sampled over two lease durations: exactly one claims to lead, and no replica names another.
  // A follower whose last read of the Lease is older than a lease duration (a slow apiserver
  // answer on a loaded machine) says "no leader known" (null) by design, the fail-safe answer;
  // that is counted, and each follower must name the leader in most samples.
  const named = new Map<string, { leader: number; unknown: number }>(ids.map((id) => [id, { leader: 0, unknown: 0 }]));
  for (const end = Date.now() + 2 * LEASE_MS; Date.now() < end; ) {
    const views = await Promise.all(replicas.map(clusterView));
    assert.deepEqual(views.filter((v) => v.self.leader).map((v) => v.self.id), [leader.id], 'replicas that claim to lead');
    for (const v of views) {
      const n = named.get(v.self.id)!;
      if (v.leader === null) n.unknown += 1;
      else {
        assert.deepEqual(v.leader, { id: leader.id, address: leader.proc.url }, `${v.self.id}'s view of the leader`);
        n.leader += 1;
      }
      assert.deepEqual(v.members.map((m) => m.id).sort(), [...ids].sort(), `${v.self.id}'s members`);
      // The flags come from the same view, read a moment later: the leader, or nobody while unknown.
      const flags = v.members.filter((m) => m.leader).map((m) => m.id);
      assert.ok(flags.length === 0 || (flags.length === 1 && flags[0] === leader.id), `${v.self.id}'s leader flags: ${flags.join(', ')}`);
      if (v.self.id === leader.id) assert.deepEqual(flags, [leader.id], "the leader's own flags");
      for (const m of v.members) assert.equal(m.address, replicas.find((r) => r.id === m.id)!.proc.url);
    }
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  for (const [id, n] of named) {
    assert.equal(id === leader.id ? n.unknown : 0, 0, 'the leader always knows it leads');
    assert.ok(n.leader > n.unknown, `${id} named the leader in ${n.leader} samples, none in ${n.unknown}`);
  }
  report(t, `samples naming the leader / none: ${[...named].map(([id, n]) => `${id} ${n.leader}/${n.unknown}`).join(', ')}`);
  for (const f of replicas.filter((r) => r !== leader)) await assertRedirects(f, leader);
  const res = await fetch(`${leader.proc.url}/v1/status`, { headers: statusAuth(), redirect: 'manual' });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { leader: boolean }).leader, true);
  // Nobody else ever acquired.
  assert.deepEqual(replicas.filter((r) => r.lines(ACQUIRED).length > 0).map((r) => r.id), [leader.id]);
  report(t, `leader ${leader.id}; followers ${replicas.filter((r) => r !== leader).map((r) => r.id).join(', ')}`);
});

let killed: Replica | undefined;
let successor: Replica | undefined;

test('leader SIGKILLed in the middle of the migration: another replica takes over and completes it without a duplicate action', async (t) => {
  const c = exampleCluster();
  await createCluster(k, c);
  await waitFor(k, 'tfe', NAME, (x) => x.status?.step === 'SingleNode', 240_000, 'status.step SingleNode');
  killed = await currentLeader();
  const killAt = killed.signal('SIGKILL');
  await killed.proc.exited;
  const next = await nextLeader(replicas.filter((r) => r !== killed), killAt, LEASE_MS + 1.2 * RETRY_MS + SLACK_MS + 5000);
  successor = next.replica;
  const took = next.at - killAt;
  report(t, `SIGKILL of ${killed.id} at SingleNode: ${successor.id} acquired after ${took} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
  await assertTakeoverLogs(successor, killAt);
  // A follower may take an unrenewed lease only after a full lease duration from its last renewal,
  // which was at most one retry period (plus scheduling delay) before the kill.
  assert.ok(took <= LEASE_MS + 1.2 * RETRY_MS + SLACK_MS, `takeover took ${took} ms`);

  const ready = await waitFor(k, 'tfe', NAME, isReady, 300_000, 'Ready after the failover');
  // The successor really carried the migration on: it made mutating AWS calls after the kill.
  const calls = await awsCalls(endpoint());
  const mine = mutatingCalls(calls).filter((m) => m.id === successor!.id && m.at >= killAt);
  assert.ok(mine.length > 0, `${successor.id} made no mutating AWS call after taking over`);
  assert.ok(mutatingCalls(calls).some((m) => m.id === killed!.id && m.at < killAt), `${killed.id} made no mutating AWS call before the kill`);

  // The simulator's scale history: a list, or (newer simulator) a list per ASG name.
  const history = (await simState()).scaleHistory as number[] | Record<string, number[]>;
  assert.deepEqual(Array.isArray(history) ? history : history.tfe, [1, 0, 1, 0, 2], 'the simulator saw each scale step once');
  assert.equal(successes(calls, 'CreateReplicationGroup'), 1);
  assert.equal(successes(calls, 'CreateLaunchTemplateVersion'), 2);
  await assertCleanEnd(ready, 'after the SIGKILL failover');
});

test('the killed replica restarts under the same id and stays a follower', async (t) => {
  assert.ok(killed && successor, 'needs the SIGKILL test');
  const since = Date.now();
  await killed.start();
  await until(`${killed.id} to see the leader`, 120_000, () =>
    killed!.proc.logs().some((l) => l.msg === 'ha: new leader observed' && l.leader === successor!.id) || undefined,
  );
  // Two full lease durations later: still a follower, the leader unchanged.
  await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
  assert.deepEqual(killed.lines(ACQUIRED), [], `${killed.id} took leadership back`);
  assert.equal(await leaseHolder(), successor.id);
  assert.ok(replicas.filter((r) => r !== successor).every((r) => r.lines(ACQUIRED, since).length === 0));
  await assertRedirects(killed, successor);
  const v = await until('three healthy members', 30_000, async () => {
    const view = await clusterView(killed!);
    return view.members.filter((m) => m.healthy).length === 3 ? view : undefined;
  });
  assert.deepEqual(v.members.filter((m) => m.leader).map((m) => m.id), [successor.id]);
  report(t, `${killed.id} back as a follower of ${successor.id}`);
});

test('SIGTERM: the leader hands the Lease over; a new leader acts within 2 seconds', async (t) => {
  const leader = await currentLeader();
  const others = replicas.filter((r) => r !== leader && r.alive);
  const sentAt = leader.signal('SIGTERM');
  const next = await nextLeader(others, sentAt, 15_000);
  const took = next.at - sentAt;
  report(t, `SIGTERM of ${leader.id}: ${next.replica.id} acquired after ${took} ms (retry period ${RETRY_MS} ms)`);
  assert.equal(await leader.proc.exited, 0, `${leader.id} did not exit cleanly`);
  assert.equal(leader.lines(RELEASED).length, 1, `${leader.id} did not release the Lease`);
  assert.equal(await leaseHolder(), next.replica.id);
  await assertTakeoverLogs(next.replica, sentAt);
  assert.ok(took <= 2000, `the new leader acquired ${took} ms after the SIGTERM (limit 2000 ms)`);
  // Back to three replicas for what follows.
  await leader.start();
  await until(`${leader.id} to follow`, 120_000, () => leader.lines(ATTEMPTING).length > 0 || undefined);
});

test('a leader cut off from the apiserver stops acting at its renew deadline; the fence refuses its stale reconcile', async (t) => {
  const dir = join(process.env.SANDBOX_DIR ?? join(ROOT, '.sandbox-test'), 'ha-e2e');
  mkdirSync(dir, { recursive: true });
  kubeProxy = await proxiedKubeconfig(process.env.KUBECONFIG!, join(dir, 'kubeconfig-ha-p'));
  // Its AWS calls go straight to moto except for one knob: reads can be made slow, to hold one
  // of its reconciles between observing and acting while its leadership runs out.
  awsProxy = await startAwsFaultProxy({ target: endpoint() });
  const p = new Replica('ha-p', haArgs(LEASE_NS, TIMING), { KUBECONFIG: join(dir, 'kubeconfig-ha-p'), AWS_ENDPOINT_URL: awsProxy.url });
  replicas.push(p);
  await p.start();
  await until('ha-p to compete', 120_000, () => p.lines(ATTEMPTING).length > 0 || undefined);

  // Make ha-p the leader: stop the followers first, then the leader (so only ha-p competes).
  const leader = await currentLeader();
  const others = replicas.filter((r) => r !== p && r.alive);
  for (const r of others.filter((x) => x !== leader)) {
    r.signal('SIGTERM');
    await r.proc.exited;
  }
  const handoverAt = leader.signal('SIGTERM');
  const pl = await nextLeader([p], handoverAt, 15_000);
  await leader.proc.exited;
  await Promise.all(others.map((r) => r.start()));
  await until('the others to follow ha-p', 120_000, () =>
    others.every((r) => r.proc.logs().some((l) => l.msg === 'ha: new leader observed' && l.leader === p.id)) || undefined,
  );
  // ha-p has run the Ready cluster once through.
  await until('ha-p to reconcile once', 60_000, () => p.proc.logs().some((l) => l.msg === 'reconciled' && timeOf(l) >= pl.at) || undefined);

  // From now on ha-p's AWS reads each take 4 s (> renew deadline). A spec change (3 nodes)
  // starts a reconcile; once it is in the second round of reads of `observe` (it has read
  // everything it needs from Kubernetes), cut ha-p's apiserver link.
  awsProxy.addRule({ name: 'slow-reads', kind: 'slow', operations: ['reading'], delayMs: 4000 });
  const sgSeen = awsProxy.counters().seen.DescribeSecurityGroups ?? 0;
  await patchCluster(k, 'tfe', NAME, { spec: { nodes: 3 } } as Partial<TfeCluster>);
  await until('ha-p to be in observe', 60_000, () => (awsProxy!.counters().seen.DescribeSecurityGroups ?? 0) > sgSeen || undefined, 20);
  const cutAt = Date.now();
  kubeProxy.cut();

  const lost = await until('ha-p to lose the lead', RENEW_MS + SLACK_MS + 5000, () => p.lines(LOST, cutAt)[0], 20);
  const lostAfter = timeOf(lost) - cutAt;
  const next = await nextLeader(replicas.filter((r) => r !== p), cutAt, LEASE_MS + 1.2 * RETRY_MS + SLACK_MS + 5000);
  report(t, `cut at ${new Date(cutAt).toISOString()}: ha-p stopped leading after ${lostAfter} ms (${String(lost.reason)}); ${next.replica.id} acquired after ${next.at - cutAt} ms`);
  // The deadline counts from the send time of the last successful renewal, at or before the cut.
  assert.ok(lostAfter <= RENEW_MS + SLACK_MS, `ha-p kept leading ${lostAfter} ms after the cut (renew deadline ${RENEW_MS} ms)`);
  assert.ok(next.at > timeOf(lost), 'a new leader began before ha-p stopped leading');
  await assertTakeoverLogs(next.replica, cutAt);

  // ha-p's reconcile comes out of its slow reads after its term ended and goes to act: refused.
  const act = await until('ha-p to try its action', 30_000, () =>
    p.proc.logs().find((l) => String(l.msg).startsWith('act:') && l.action === 'ScaleAsg' && timeOf(l) >= cutAt),
  );
  const fenced = await until('the fence to refuse it', 30_000, () =>
    p.proc.logs().find((l) => String(l.msg).startsWith('fenced:') && timeOf(l) >= timeOf(act)),
  );
  assert.ok(timeOf(act) > timeOf(lost), 'the stale reconcile acted before the term ended: the test did not exercise the fence');
  assert.match(String(fenced.err), /ha-p is not the leader/);
  report(t, `ha-p tried ScaleAsg ${timeOf(act) - timeOf(lost)} ms after its term ended; refused: ${String(fenced.err)}`);

  const ready = await waitFor(k, 'tfe', NAME, (x) => isReady(x) && x.status?.nodes?.ready === 3, 240_000, 'Ready with 3 nodes');
  assert.equal(ready.status?.nodes?.desired, 3);
  const calls = await awsCalls(endpoint());
  const fromP = mutatingCalls(calls).filter((m) => m.id === p.id && m.at >= cutAt);
  assert.deepEqual(fromP, [], 'ha-p acted after the cut');
  assert.deepEqual((await asgHistory(endpoint(), 'tfe')).filter((h) => h.from !== null).map((h) => h.to), [0, 1, 0, 2, 3]);

  // The link comes back: ha-p finds the Lease held by the new leader and follows.
  awsProxy.clearRules();
  const healAt = Date.now();
  kubeProxy.heal();
  await until('ha-p to follow again', 60_000, async () => {
    const res = await fetch(`${p.proc.url}/v1/status`, { headers: statusAuth(), redirect: 'manual' });
    await res.arrayBuffer();
    return res.status === 307 || undefined;
  });
  await assertRedirects(p, next.replica);
  await new Promise((r) => setTimeout(r, LEASE_MS));
  assert.deepEqual(p.lines(ACQUIRED, healAt), [], 'ha-p took the lead back after the link healed');
  assert.equal(await leaseHolder(), next.replica.id);
});

test('over the whole run: no two instances ever acted at once (moto call log, strictly)', async (t) => {
  const calls = mutatingCalls(await awsCalls(endpoint()));
  const terms = leadershipTerms(replicas);
  const runs = runsOf(calls);
  const termLines = terms.map((x) => `${new Date(x.start).toISOString()}..${x.end ? new Date(x.end).toISOString().slice(11) : 'now'} ${x.id} (${x.how ?? 'leading'})`);
  report(t, `${terms.length} leadership terms, ${calls.length} mutating AWS calls in ${runs.length} runs by ${new Set(calls.map((c) => c.id)).size} instances`);
  const problems = safetyViolations(terms, calls);
  assert.deepEqual(problems, [], `terms:\n${termLines.join('\n')}\nruns of mutating calls:\n${runs.join('\n')}`);
  // The run exercised what it claims: several instances acted, each in its own terms.
  assert.ok(new Set(calls.map((c) => c.id)).size >= 2, `only ${[...new Set(calls.map((c) => c.id))].join(', ')} acted`);
  assert.ok(terms.length >= 5, `${terms.length} terms`);
  // Kubernetes: Events were recorded only by replicas that led.
  const events = await k.core.listNamespacedEvent({ namespace: 'tfe', fieldSelector: `involvedObject.name=${NAME}` });
  const leaders = new Set(terms.map((x) => x.id));
  for (const e of events.items) assert.ok(leaders.has(e.reportingInstance ?? ''), `Event ${e.reason} recorded by ${e.reportingInstance}, which never led`);
  const final = await getCluster(k, 'tfe', NAME);
  assert.ok(isReady(final));
});
