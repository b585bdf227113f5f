// LeaderElector against an in-memory Lease API with apiserver semantics (resourceVersion
// checks, 404/409), for the timing cases a real apiserver cannot be made to produce on
// demand: a renewal the server applies but whose response arrives too late.
// The real-apiserver tests are in test/integration/ha.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Lease } from '@kubernetes/client-node';
import pino from 'pino';
import { resolveHaConfig } from './config.ts';
import type { LeaseApi } from './kube.ts';
import { LeaderElector, NotLeaderError, type LeadershipTerm } from './leader.ts';

class ApiError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

/** Leases in memory; every response is a JSON round trip (timestamps become strings, as from the server). */
class FakeLeaseApi implements LeaseApi {
  leases = new Map<string, V1Lease>();
  rv = 1;
  /** Applied server-side at once, response delivered after this delay. */
  responseDelayMs = 0;
  replaces: { sentAt: number; deliveredAt?: number; holder?: string }[] = [];

  private async respond<T>(value: T | Error): Promise<T> {
    const delay = this.responseDelayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (value instanceof Error) throw value;
    return JSON.parse(JSON.stringify(value)) as T;
  }
  async readNamespacedLease(p: { name: string }) {
    const l = this.leases.get(p.name);
    return this.respond<V1Lease>(l ?? new ApiError(404));
  }
  async createNamespacedLease(p: { body: V1Lease }) {
    const name = p.body.metadata!.name!;
    if (this.leases.has(name)) return this.respond<V1Lease>(new ApiError(409));
    const l = JSON.parse(JSON.stringify(p.body)) as V1Lease;
    l.metadata!.resourceVersion = String(++this.rv);
    this.leases.set(name, l);
    return this.respond(l);
  }
  async replaceNamespacedLease(p: { name: string; body: V1Lease }) {
    const rec: { sentAt: number; deliveredAt?: number; holder?: string } = {
      sentAt: performance.now(),
      holder: p.body.spec?.holderIdentity,
    };
    this.replaces.push(rec);
    const cur = this.leases.get(p.name);
    if (!cur) return this.respond<V1Lease>(new ApiError(404));
    if (p.body.metadata?.resourceVersion !== cur.metadata?.resourceVersion) return this.respond<V1Lease>(new ApiError(409));
    const l = JSON.parse(JSON.stringify(p.body)) as V1Lease;
    l.metadata!.resourceVersion = String(++this.rv);
    this.leases.set(p.name, l);
    const out = await this.respond(l);
    rec.deliveredAt = performance.now();
    return out;
  }
  async listNamespacedLease() {
    return this.respond({ items: [...this.leases.values()] });
  }
  async deleteNamespacedLease(p: { name: string }) {
    this.leases.delete(p.name);
    return this.respond({});
  }
}

const LEASE = 2000;
const RENEW = 1200;
const RETRY = 400;

function make(api: LeaseApi, identity: string, reacquire = true) {
  const config = resolveHaConfig({
    identity,
    namespace: 'ns',
    leasePrefix: 'unit',
    address: `http://${identity}:8080`,
    leaseDuration: LEASE,
    renewDeadline: RENEW,
    retryPeriod: RETRY,
  });
  const started: LeadershipTerm[] = [];
  const stopped: { at: number; reason: string }[] = [];
  const e = new LeaderElector({ api, config, logger: pino({ level: 'silent' }), reacquire });
  e.on('startedLeading', (t) => started.push(t));
  e.on('stoppedLeading', (s) => stopped.push({ at: performance.now(), reason: s.reason }));
  return { e, started, stopped };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string) {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('a renewal applied by the server but answered too late: the term ends at (last acknowledged send + renewDeadline)', async () => {
  const api = new FakeLeaseApi();
  const a = make(api, 'a');
  a.e.start();
  try {
    await until(() => a.e.isLeader(), 2000, 'a to lead');
    await sleep(3 * RETRY);
    api.responseDelayMs = 5 * RENEW; // the server keeps renewing, the answers come too late
    await until(() => a.stopped.length === 1, 3 * RENEW, 'stoppedLeading');
    const lastAck = Math.max(...api.replaces.filter((r) => r.deliveredAt !== undefined && r.deliveredAt < a.stopped[0]!.at).map((r) => r.sentAt));
    const held = a.stopped[0]!.at - lastAck;
    // From the SEND time of the last acknowledged write: not from its (late) response, and not
    // from the start of the next renew cycle (up to RETRY later). Upper slack: timer latency.
    assert.ok(held >= RENEW - 5 && held <= RENEW + 300, `leadership ended ${held.toFixed(0)}ms after the last acknowledged renewal`);
    assert.match(a.stopped[0]!.reason, /renew deadline/);
    assert.equal(a.started[0]!.signal.aborted, true);
    assert.throws(() => a.e.assertLeader(), NotLeaderError);

    // Late answers arrive: they must not restore the ended term.
    await sleep(5 * RENEW);
    assert.equal(a.started.length, 1, 'a late success restarted leadership without a fresh acquisition');
    assert.equal(a.e.isLeader(), false);

    // The apiserver recovers: the record still names a, so a takes it again, in a NEW term.
    api.responseDelayMs = 0;
    await until(() => a.e.isLeader(), 3 * RETRY + 1000, 'a to lead again');
    assert.equal(a.started.length, 2);
    assert.equal(a.started[1]!.term, a.started[0]!.term + 1);
    a.e.assertLeader(a.started[1]!.term);
    // Work from the first term is fenced off even though this replica leads again.
    assert.throws(() => a.e.assertLeader(a.started[0]!.term), /term 1 ended/);
  } finally {
    await a.e.stop();
  }
});

test('isLeader() enforces the deadline even when the event loop is blocked past it', async () => {
  const api = new FakeLeaseApi();
  const a = make(api, 'a');
  a.e.start();
  try {
    await until(() => a.e.isLeader(), 2000, 'a to lead');
    const t0 = performance.now();
    while (performance.now() - t0 < RENEW + 50) {
      /* busy: no timers, no renewals run */
    }
    assert.equal(a.e.isLeader(), false, 'still claims leadership after the renew deadline');
    assert.throws(() => a.e.assertLeader(), NotLeaderError);
  } finally {
    await a.e.stop();
  }
});

test('reacquire: false stops competing after losing; release hands the lease over; listeners that throw do not break the loop', async () => {
  const api = new FakeLeaseApi();
  const a = make(api, 'a', false);
  a.e.on('startedLeading', () => {
    throw new Error('listener bug');
  });
  a.e.start();
  await until(() => a.e.isLeader(), 2000, 'a to lead');
  const b = make(api, 'b');
  b.e.start();
  try {
    await until(() => b.e.currentLeader()?.id === 'a', 2000, 'b to see a');
    // Someone else overwrites the record (e.g. an operator with the same lease name elsewhere).
    const l = api.leases.get('unit-leader')!;
    l.spec!.holderIdentity = 'intruder';
    l.metadata!.resourceVersion = String(++api.rv);
    await until(() => a.stopped.length === 1, RENEW + 1000, 'a to stop');
    assert.match(a.stopped[0]!.reason, /lease taken by intruder/);
    await sleep(3 * RETRY);
    assert.equal(a.started.length, 1, 'a competed again although reacquire is false');

    // b takes over once the intruder's record expires by b's own observation.
    await until(() => b.e.isLeader(), LEASE + 3 * RETRY + 1000, 'b to lead');
    const t0 = performance.now();
    await b.e.stop({ release: true });
    assert.equal(api.leases.get('unit-leader')!.spec!.holderIdentity, '');
    assert.equal(api.leases.get('unit-leader')!.spec!.leaseDurationSeconds, 1);
    assert.ok(performance.now() - t0 < 1000);
  } finally {
    await a.e.stop();
    await b.e.stop();
  }
});

test('release does not touch a lease held by someone else', async () => {
  const api = new FakeLeaseApi();
  const a = make(api, 'a');
  a.e.start();
  await until(() => a.e.isLeader(), 2000, 'a to lead');
  const b = make(api, 'b');
  await b.e.stop({ release: true }); // never started, never held it
  assert.equal(api.leases.get('unit-leader')!.spec!.holderIdentity, 'a');
  await a.e.stop({ release: true });
  assert.equal(api.leases.get('unit-leader')!.spec!.holderIdentity, '');
});
