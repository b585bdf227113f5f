// High availability against a real kube-apiserver: Lease leader election, fencing,
// failover timing, renewal failure, member registry and the status API.
//
// Uses the sandbox's KUBECONFIG (test/run.ts exports it; ../harness.ts finds a running
// sandbox when this file runs alone); without any, starts its own etcd + kube-apiserver
// through test/sandbox/controlplane.ts.
//
// Durations are short: lease 3s, renew deadline 2s, retry 500ms.

import '../harness.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  HaConfigError,
  LeaderElector,
  LEADER_ADDRESS_ANNOTATION,
  MemberRegistry,
  NotLeaderError,
  memberLeaseName,
  resolveHaConfig,
  type HaConfig,
  type LeadershipTerm,
  type LeaseApi,
} from '../../src/ha/index.ts';
import { registerHaMetrics } from '../../src/ha/metrics.ts';
import { startStatusServer, type StatusServer } from '../../src/server/http.ts';
import { freePorts } from '../sandbox/ports.ts';

const LEASE = 3000;
const RENEW = 2000;
const RETRY = 500;
const NS = 'default';
/** Scheduling slack on a busy 2-core machine (timers fire late under load). */
const SLACK = 1000;

let kubeconfigPath = process.env.KUBECONFIG ?? '';
let stopControlPlane: (() => Promise<void>) | undefined;
let workDir: string | undefined;
let kc: KubeConfig;
let api: LeaseApi;
let prefixCounter = 0;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  if (!kubeconfigPath) {
    const { startControlPlane } = await import('../sandbox/controlplane.ts');
    workDir = mkdtempSync(join(tmpdir(), 'ha-test-'));
    const cp = await startControlPlane({ dir: workDir, crdsDir: join(workDir, 'no-crds') });
    kubeconfigPath = cp.kubeconfigPath;
    stopControlPlane = cp.stop;
  }
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  api = kc.makeApiClient(CoordinationV1Api);
});

// Every test stops what it started, so later tests do not share the machine with stale electors.
afterEach(async () => {
  const cs = cleanups.splice(0).reverse();
  for (const c of cs) await c().catch(() => undefined);
  for (const p of prefixes.splice(0)) {
    const leases = await api.listNamespacedLease({ namespace: NS }).catch(() => ({ items: [] }));
    for (const l of leases.items) {
      const name = l.metadata?.name ?? '';
      if (name === `${p}-leader` || name.startsWith(`${p}-member-`)) {
        await api.deleteNamespacedLease({ name, namespace: NS }).catch(() => undefined);
      }
    }
  }
});

after(async () => {
  await stopControlPlane?.();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prefixes: string[] = [];
function uniquePrefix(name: string): string {
  const p = `ha-${name}-${process.pid % 10000}-${++prefixCounter}`;
  prefixes.push(p);
  return p;
}

interface LogLine {
  msg: string;
  id?: string;
  level: number;
  [k: string]: unknown;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function config(prefix: string, identity: string, extra: Partial<Parameters<typeof resolveHaConfig>[0]> = {}): HaConfig {
  return resolveHaConfig({
    identity,
    namespace: NS,
    leasePrefix: prefix,
    address: `http://127.0.0.1:1${identity.length}`,
    leaseDuration: LEASE,
    renewDeadline: RENEW,
    retryPeriod: RETRY,
    ...extra,
  });
}

interface Recorded {
  elector: LeaderElector;
  started: { at: number; term: LeadershipTerm }[];
  stopped: { at: number; reason: string }[];
}

function elector(prefix: string, identity: string, opts: { api?: LeaseApi; logger?: Logger; address?: string } = {}): Recorded {
  const rec: Recorded = {
    elector: new LeaderElector({
      api: opts.api ?? api,
      config: config(prefix, identity, opts.address ? { address: opts.address } : {}),
      logger: opts.logger ?? pino({ level: 'silent' }),
    }),
    started: [],
    stopped: [],
  };
  rec.elector.on('startedLeading', (term) => rec.started.push({ at: performance.now(), term }));
  rec.elector.on('stoppedLeading', (s) => rec.stopped.push({ at: performance.now(), reason: s.reason }));
  cleanups.push(() => rec.elector.stop());
  return rec;
}

/**
 * Samples every `everyMs` until `cond` holds or `timeoutMs` passes; on every sample asserts
 * that at most one elector claims leadership (the property we care about most).
 */
async function watchUntil(
  electors: LeaderElector[],
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    const leaders = electors.filter((e) => e.isLeader()).map((e) => e.identity);
    assert.ok(leaders.length <= 1, `two leaders at once: ${leaders.join(', ')}`);
    if (cond()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) assert.fail(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function leaders(electors: LeaderElector[]): LeaderElector[] {
  return electors.filter((e) => e.isLeader());
}

async function readLeader(prefix: string) {
  return api.readNamespacedLease({ name: `${prefix}-leader`, namespace: NS });
}

/** A TCP proxy to the apiserver that can be cut: 'blackhole' swallows traffic, 'refuse' resets. */
class CuttableProxy {
  mode: 'pass' | 'blackhole' | 'refuse' = 'pass';
  private server: Server;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private upstreamHost: string, private upstreamPort: number) {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.mode === 'refuse') return client.destroy();
      if (this.mode === 'blackhole') return client.resume(); // read and drop, never answer
      const up = connect(this.upstreamPort, this.upstreamHost);
      this.sockets.add(up);
      up.on('close', () => this.sockets.delete(up));
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      client.pipe(up);
      up.pipe(client);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  cut(mode: 'blackhole' | 'refuse'): void {
    this.mode = mode;
    for (const s of this.sockets) s.destroy();
  }
  heal(): void {
    this.mode = 'pass';
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A Lease API whose traffic goes through a CuttableProxy. */
async function proxiedApi(): Promise<{ api: LeaseApi; proxy: CuttableProxy }> {
  const cluster = kc.getCurrentCluster()!;
  const url = new URL(cluster.server);
  const proxy = new CuttableProxy(url.hostname, Number(url.port || 443));
  await proxy.listen();
  cleanups.push(() => proxy.close());
  const pkc = new KubeConfig();
  pkc.loadFromOptions({
    clusters: [{ ...cluster, name: 'proxied', server: `${url.protocol}//${url.hostname}:${proxy.port}` }],
    users: [kc.getCurrentUser()!],
    contexts: [{ name: 'proxied', cluster: 'proxied', user: kc.getCurrentUser()!.name }],
    currentContext: 'proxied',
  });
  return { api: pkc.makeApiClient(CoordinationV1Api), proxy };
}

// ------------------------------------------------------------------ configuration

describe('ha config', () => {
  test('defaults are 15s / 10s / 2s', () => {
    const c = resolveHaConfig({ identity: 'x', namespace: 'ns', address: '10.0.0.1:8080' });
    assert.equal(c.leaseDurationMs, 15_000);
    assert.equal(c.renewDeadlineMs, 10_000);
    assert.equal(c.retryPeriodMs, 2_000);
    assert.equal(c.address, 'http://10.0.0.1:8080');
  });

  test('refuses leaseDuration <= renewDeadline', () => {
    assert.throws(
      () => resolveHaConfig({ identity: 'x', namespace: 'n', leaseDuration: '10s', renewDeadline: '10s', retryPeriod: '2s' }),
      (e: unknown) =>
        e instanceof HaConfigError &&
        /leaseDuration \(10s\) must be greater than renewDeadline \(10s\)/.test(e.message) &&
        /before another replica may take the lease/.test(e.message),
    );
  });

  test('refuses renewDeadline <= 1.2 x retryPeriod', () => {
    assert.throws(
      () => resolveHaConfig({ identity: 'x', namespace: 'n', leaseDuration: '15s', renewDeadline: '2400ms', retryPeriod: '2s' }),
      (e: unknown) =>
        e instanceof HaConfigError && /renewDeadline \(2400ms\) must be greater than 1.2 x retryPeriod \(2400ms\)/.test(e.message),
    );
    // Just above the bound is accepted.
    resolveHaConfig({ identity: 'x', namespace: 'n', leaseDuration: '15s', renewDeadline: '2401ms', retryPeriod: '2s' });
  });

  test('refuses bad durations and identities, naming each problem', () => {
    assert.throws(
      () => resolveHaConfig({ identity: 'bad id!', namespace: 'n', leaseDuration: 'soon' }),
      (e: unknown) =>
        e instanceof HaConfigError && /leaseDuration: "soon" is not a duration/.test(e.message) && /identity "bad id!"/.test(e.message),
    );
  });

  test('identity defaults to POD_NAME, else hostname-pid', () => {
    assert.equal(resolveHaConfig({ namespace: 'n' }, { POD_NAME: 'tfe-operator-7d9f-abc' }).identity, 'tfe-operator-7d9f-abc');
    assert.match(resolveHaConfig({ namespace: 'n' }, {}).identity, new RegExp(`-${process.pid}$`));
  });
});

// ------------------------------------------------------------------ election

describe('leader election on a real apiserver', () => {
  test('exactly one of three concurrent candidates leads; logs and Lease record say who', async () => {
    const prefix = uniquePrefix('one');
    const { logger, lines } = captureLogger();
    const rs = ['a', 'b', 'c'].map((id) => elector(prefix, id, { logger }));
    const es = rs.map((r) => r.elector);
    const newLeaderSeen = new Map<string, string>();
    for (const e of es) e.on('newLeader', (l) => newLeaderSeen.set(e.identity, l.id));
    for (const e of es) e.start();

    await watchUntil(es, () => leaders(es).length === 1, 5000, 'a leader');
    // Keep watching through several renewals: still exactly one, never two.
    const t0 = performance.now();
    while (performance.now() - t0 < 2 * LEASE) {
      const ls = leaders(es);
      assert.equal(ls.length, 1, `expected exactly one leader, got ${ls.map((e) => e.identity).join(',') || 'none'}`);
      await sleep(25);
    }
    const leader = leaders(es)[0]!;
    assert.equal(rs.reduce((n, r) => n + r.started.length, 0), 1, 'startedLeading fired exactly once in total');
    assert.equal(rs.reduce((n, r) => n + r.stopped.length, 0), 0);

    const lease = await readLeader(prefix);
    assert.equal(lease.spec?.holderIdentity, leader.identity);
    assert.equal(lease.spec?.leaseDurationSeconds, 3);
    assert.equal(lease.metadata?.annotations?.[LEADER_ADDRESS_ANNOTATION], leader.address);
    for (const e of es) {
      assert.deepEqual(e.currentLeader(), { id: leader.identity, address: leader.address });
      assert.equal(newLeaderSeen.get(e.identity), leader.identity);
    }

    // Fencing: followers throw NotLeaderError naming the leader; the leader passes.
    leader.assertLeader();
    leader.assertLeader(leader.currentTerm());
    assert.throws(() => leader.assertLeader((leader.currentTerm() ?? 0) + 1), NotLeaderError);
    for (const f of es.filter((e) => e !== leader)) {
      assert.throws(
        () => f.assertLeader(),
        (e: unknown) => e instanceof NotLeaderError && e.leader?.id === leader.identity,
      );
    }

    const msgs = (id: string) => lines.filter((l) => l.id === id).map((l) => l.msg);
    for (const e of es) assert.ok(msgs(e.identity).includes('ha: attempting to acquire leadership lock'));
    assert.deepEqual(
      lines.filter((l) => l.msg === 'ha: acquired leadership lock').map((l) => l.id),
      [leader.identity],
    );
    const attempt = lines.find((l) => l.msg === 'ha: attempting to acquire leadership lock')!;
    assert.equal(attempt.lock_path, `${NS}/${prefix}-leader`);

    await Promise.all(es.map((e) => e.stop({ release: true })));
    assert.deepEqual(
      lines.filter((l) => l.msg === 'ha: released leadership lock').map((l) => l.id),
      [leader.identity],
    );
  });

  test('graceful stop with release: a follower leads within about one retry period', async () => {
    const prefix = uniquePrefix('release');
    const a = elector(prefix, 'a');
    a.elector.start();
    await watchUntil([a.elector], () => a.elector.isLeader(), 5000, 'a to lead');
    const b = elector(prefix, 'b');
    const c = elector(prefix, 'c');
    b.elector.start();
    c.elector.start();
    const es = [a.elector, b.elector, c.elector];
    await watchUntil(es, () => b.elector.currentLeader()?.id === 'a' && c.elector.currentLeader()?.id === 'a', 5000, 'followers to see a');

    const t0 = performance.now();
    await a.elector.stop({ release: true });
    assert.equal(a.stopped.length, 1);
    const released = await readLeader(prefix);
    // Released (holder "", 1s) -- or already taken by a follower.
    assert.ok(
      released.spec?.holderIdentity === '' || released.spec?.holderIdentity === undefined ||
        ['b', 'c'].includes(released.spec.holderIdentity),
    );
    await watchUntil(es, () => leaders(es).length === 1, 5000, 'a new leader');
    const elapsed = performance.now() - t0;
    // About one retry period; in any case clearly less than waiting for expiry (LEASE).
    assert.ok(elapsed < LEASE - RETRY, `takeover after release took ${elapsed.toFixed(0)}ms`);
    const next = leaders(es)[0]!;
    assert.notEqual(next.identity, 'a');
    const lease = await readLeader(prefix);
    assert.equal(lease.spec?.holderIdentity, next.identity);
    assert.equal(lease.spec?.leaseDurationSeconds, 3);
    assert.equal(lease.spec?.leaseTransitions, 1);
  });

  test('leader killed without release: takeover only after the lease duration; the recovered instance stays follower', async () => {
    const prefix = uniquePrefix('kill');
    const a = elector(prefix, 'a');
    a.elector.start();
    await watchUntil([a.elector], () => a.elector.isLeader(), 5000, 'a to lead');
    const b = elector(prefix, 'b');
    b.elector.start();
    await watchUntil([a.elector, b.elector], () => b.elector.currentLeader()?.id === 'a', 5000, 'b to see a');
    await sleep(2 * RETRY); // a renews a few times while b watches

    const t0 = performance.now();
    await a.elector.stop({ release: false }); // a "crash": the Lease still names a
    const es = [a.elector, b.elector];
    await watchUntil(es, () => b.elector.isLeader(), LEASE + 3000, 'b to take over');
    const waited = performance.now() - t0;
    // a renewed at most one retry period before the crash; b counts the lease duration
    // from the last change it observed, so it cannot take over much before LEASE - RETRY.
    assert.ok(waited >= LEASE - RETRY - 100, `b took over too early: ${waited.toFixed(0)}ms`);
    assert.ok(waited <= LEASE + RETRY * 1.2 + 2 * SLACK, `b took over too late: ${waited.toFixed(0)}ms`);
    const taken = await readLeader(prefix);
    assert.equal(taken.spec?.holderIdentity, 'b');
    assert.equal(taken.spec?.leaseTransitions, 1);

    // a comes back (same identity) while b is healthy: it must not take leadership back.
    const a2 = elector(prefix, 'a');
    a2.elector.start();
    const all = [a2.elector, b.elector];
    const until = performance.now() + 2 * LEASE + RETRY;
    while (performance.now() < until) {
      assert.equal(a2.elector.isLeader(), false, 'recovered instance took leadership back');
      assert.equal(b.elector.isLeader(), true, 'healthy leader lost leadership');
      await watchUntil(all, () => true, 0, '');
      await sleep(50);
    }
    assert.equal(a2.started.length, 0);
    assert.equal(b.stopped.length, 0);
    assert.deepEqual(a2.elector.currentLeader(), { id: 'b', address: b.elector.address });
    assert.equal((await readLeader(prefix)).spec?.leaseTransitions, 1, 'no transitions while b was healthy');
  });

  test('two candidates writing the same free Lease at once: the resourceVersion check lets exactly one win', async () => {
    const prefix = uniquePrefix('race');
    // A released lease (holder "") that both candidates may take at once.
    const first = elector(prefix, 'first');
    first.elector.start();
    await watchUntil([first.elector], () => first.elector.isLeader(), 5000, 'first to lead');
    await first.elector.stop({ release: true });
    assert.equal((await readLeader(prefix)).spec?.holderIdentity, '');

    // Hold every acquire write until both candidates have read the lease and sent their write.
    const outcomes: string[] = [];
    let waiting: (() => void)[] = [];
    const barrierApi = (): LeaseApi => ({
      readNamespacedLease: (p, o) => api.readNamespacedLease(p, o),
      createNamespacedLease: (p, o) => api.createNamespacedLease(p, o),
      listNamespacedLease: (p, o) => api.listNamespacedLease(p, o),
      deleteNamespacedLease: (p, o) => api.deleteNamespacedLease(p, o),
      async replaceNamespacedLease(p, o) {
        if (outcomes.length < 2) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) {
              for (const w of waiting) w();
              waiting = [];
            }
            setTimeout(resolve, 1500);
          });
        }
        try {
          const r = await api.replaceNamespacedLease(p, o);
          if (outcomes.length < 2) outcomes.push(`ok:${p.body.spec?.holderIdentity}`);
          return r;
        } catch (err) {
          if (outcomes.length < 2) outcomes.push(`${(err as { code?: number }).code}:${p.body.spec?.holderIdentity}`);
          throw err;
        }
      },
    });
    const b = elector(prefix, 'b', { api: barrierApi() });
    const c = elector(prefix, 'c', { api: barrierApi() });
    b.elector.start();
    c.elector.start();
    const es = [b.elector, c.elector];
    await watchUntil(es, () => leaders(es).length === 1 && outcomes.length === 2, 5000, 'one winner');
    assert.equal(outcomes.length, 2, `both candidates wrote: ${outcomes.join(', ')}`);
    assert.deepEqual(outcomes.map((o) => o.split(':')[0]).sort(), ['409', 'ok'], outcomes.join(', '));
    const winner = outcomes.find((o) => o.startsWith('ok'))!.split(':')[1];
    // Watch a few renewals: the loser never leads.
    const until = performance.now() + 2 * RETRY * 3;
    while (performance.now() < until) {
      await watchUntil(es, () => true, 0, '');
      assert.equal(leaders(es)[0]?.identity, winner);
      await sleep(25);
    }
    assert.equal(b.started.length + c.started.length, 1);
  });

  for (const mode of ['blackhole', 'refuse'] as const) {
    test(`a leader whose renewals fail (${mode}) stops leading within the renew deadline, before anyone else acquires`, async () => {
      const prefix = uniquePrefix(`cut-${mode}`);
      const { logger, lines } = captureLogger();
      const { api: cutApi, proxy } = await proxiedApi();
      const a = elector(prefix, 'a', { api: cutApi, logger });
      a.elector.start();
      await watchUntil([a.elector], () => a.elector.isLeader(), 5000, 'a to lead');
      let workAborted = -1;
      a.started[0]!.term.signal.addEventListener('abort', () => (workAborted = performance.now()));
      const b = elector(prefix, 'b');
      const c = elector(prefix, 'c');
      b.elector.start();
      c.elector.start();
      const es = [a.elector, b.elector, c.elector];
      await watchUntil(es, () => b.elector.currentLeader()?.id === 'a' && c.elector.currentLeader()?.id === 'a', 5000, 'followers to see a');
      await sleep(RETRY);

      const tCut = performance.now();
      proxy.cut(mode);
      await watchUntil(es, () => !a.elector.isLeader(), RENEW + SLACK, 'a to stop leading');
      await watchUntil(es, () => a.stopped.length === 1, SLACK, 'stoppedLeading on a');
      const tStop = a.stopped[0]!.at;
      // Its last successful renewal was sent before the cut, so the deadline falls within RENEW of it.
      // (The live check, isLeader(), is sampled above; the event may lag by timer latency.)
      assert.ok(tStop - tCut <= RENEW + 400, `a kept leading ${(tStop - tCut).toFixed(0)}ms after the cut`);
      assert.match(a.stopped[0]!.reason, /renew deadline/);
      assert.ok(workAborted > 0 && workAborted <= tStop + 1, 'the term signal aborts when leadership ends');
      assert.throws(() => a.elector.assertLeader(), NotLeaderError);

      await watchUntil(es, () => b.elector.isLeader() || c.elector.isLeader(), LEASE + 3000, 'a new leader');
      const next = [b, c].find((r) => r.elector.isLeader())!;
      const tNew = next.started[0]!.at;
      assert.ok(tNew > tStop, 'the new leader acquired only after the old one stopped');
      // The fence held for the whole gap: followers wait the full lease, the old leader only the renew deadline.
      assert.ok(tNew - tCut >= LEASE - RETRY - 100, `new leader after only ${(tNew - tCut).toFixed(0)}ms`);
      assert.deepEqual(
        lines.filter((l) => l.id === 'a' && l.msg === 'ha: lost leadership lock').length,
        1,
        'a logs "ha: lost leadership lock" once',
      );

      // The network heals: a must stay a follower of the new, healthy leader.
      proxy.heal();
      const until = performance.now() + LEASE + RETRY;
      while (performance.now() < until) {
        await watchUntil(es, () => true, 0, '');
        assert.equal(a.elector.isLeader(), false, 'the recovered old leader took leadership back');
        await sleep(50);
      }
      assert.deepEqual(a.elector.currentLeader()?.id, next.elector.identity);
      assert.equal(a.started.length, 1);
    });
  }
});

// ------------------------------------------------------------------ members and status API

describe('member registry and status API', () => {
  interface Replica {
    id: string;
    elector: LeaderElector;
    members: MemberRegistry;
    server: StatusServer;
    ready: boolean;
  }

  async function replica(prefix: string, id: string, port: number, gcAfterMs?: number): Promise<Replica> {
    const cfg = config(prefix, id, { address: `http://127.0.0.1:${port}` });
    const logger = pino({ level: process.env.HA_TEST_LOG ?? 'silent' }, pino.destination(2));
    const el = new LeaderElector({ api, config: cfg, logger });
    // Every replica of this test has a port of its own: redirects may name any of them.
    const members = new MemberRegistry({ api, config: cfg, leader: el, logger, gcAfterMs, peerPorts: { min: 1024, max: 65535 } });
    const registry = new Registry();
    registerHaMetrics(registry, el);
    const r: Replica = { id, elector: el, members, server: undefined as unknown as StatusServer, ready: false };
    r.server = await startStatusServer({
      host: '127.0.0.1',
      port,
      leader: el,
      members,
      registry,
      ready: () => r.ready,
      statusProvider: () => ({ answeredBy: id, clusters: [] }),
      logger,
    });
    cleanups.push(async () => {
      await el.stop({ release: true });
      await members.stop();
      await r.server.close();
    });
    return r;
  }

  test('followers redirect /v1/status to the leader; /v1/status/cluster lists members with the leader flag', async () => {
    const prefix = uniquePrefix('status');
    const ports = await freePorts(3);
    const rs = await Promise.all(['r1', 'r2', 'r3'].map((id, i) => replica(prefix, id, ports[i]!)));
    for (const r of rs) r.members.start();
    for (const r of rs) r.elector.start();
    const es = rs.map((r) => r.elector);
    await watchUntil(es, () => leaders(es).length === 1 && es.every((e) => e.currentLeader() !== undefined), 5000, 'a known leader');
    const leader = rs.find((r) => r.elector.isLeader())!;
    const followers = rs.filter((r) => r !== leader);

    // Leader answers with the status provider's JSON.
    const own = await fetch(`${leader.server.url}/v1/status`, { redirect: 'manual' });
    assert.equal(own.status, 200);
    assert.deepEqual(await own.json(), { answeredBy: leader.id, clusters: [] });

    for (const f of followers) {
      const res = await fetch(`${f.server.url}/v1/status`, { redirect: 'manual' });
      assert.equal(res.status, 307);
      assert.equal(res.headers.get('location'), `http://127.0.0.1:${leader.server.port}/v1/status`);
      assert.deepEqual(await res.json(), { leader: { id: leader.id, address: `http://127.0.0.1:${leader.server.port}` } });
      // A client that follows redirects ends at the leader's answer.
      const followed = await fetch(`${f.server.url}/v1/status`);
      assert.equal(followed.status, 200);
      assert.deepEqual(await followed.json(), { answeredBy: leader.id, clusters: [] });
    }

    // Members: all three, healthy, exactly one leader flag, the same answer from every replica.
    await sleep(LEASE / 3 + 200); // at least one heartbeat each
    for (const r of rs) {
      const res = await fetch(`${r.server.url}/v1/status/cluster`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        self: { id: string; leader: boolean };
        leader: { id: string; address: string };
        members: { id: string; address: string; healthy: boolean; leader: boolean }[];
      };
      assert.equal(body.self.id, r.id);
      assert.equal(body.self.leader, r === leader);
      assert.equal(body.leader.id, leader.id);
      assert.deepEqual(
        body.members.map((m) => [m.id, m.address, m.healthy, m.leader]),
        rs.map((x) => [x.id, `http://127.0.0.1:${x.server.port}`, true, x === leader]),
      );
    }

    // healthz / readyz / metrics on a follower.
    const f = followers[0]!;
    assert.equal((await fetch(`${f.server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${f.server.url}/readyz`)).status, 503);
    f.ready = true;
    assert.equal((await fetch(`${f.server.url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${leader.server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`tfe_operator_ha_is_leader\\{identity="${leader.id}"\\} 1`));
    const fm = await (await fetch(`${f.server.url}/metrics`)).text();
    assert.match(fm, new RegExp(`tfe_operator_ha_is_leader\\{identity="${f.id}"\\} 0`));

    // Leader steps down with release: a follower's redirect now names the new leader.
    await leader.elector.stop({ release: true });
    await watchUntil(es, () => followers.some((x) => x.elector.isLeader()), 5000, 'a new leader');
    const next = followers.find((x) => x.elector.isLeader())!;
    const other = followers.find((x) => x !== next)!;
    await watchUntil(es, () => other.elector.currentLeader()?.id === next.id, 3000, 'the other follower to see the new leader');
    const res = await fetch(`${other.server.url}/v1/status`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.deepEqual(((await res.json()) as { leader: { id: string } }).leader.id, next.id);
    // The old leader keeps serving (its server is up) and, not electing any more, knows no
    // leader: 503 rather than a stale redirect to itself.
    const old = await fetch(`${leader.server.url}/v1/status`, { redirect: 'manual' });
    assert.equal(old.status, 503);
  });

  test('no known leader: /v1/status answers 503', async () => {
    const prefix = uniquePrefix('noleader');
    const [port] = await freePorts(1);
    const r = await replica(prefix, 'lonely', port!);
    // Not started: it knows no leader.
    const res = await fetch(`${r.server.url}/v1/status`, { redirect: 'manual' });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'no leader is known; retry shortly', leader: null });
    assert.equal((await fetch(`${r.server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${r.server.url}/healthz`, { method: 'POST' })).status, 405);
  });

  test('a member that stops heartbeating turns unhealthy, then the leader removes its Lease', async () => {
    const prefix = uniquePrefix('gc');
    const ports = await freePorts(2);
    const lead = await replica(prefix, 'lead', ports[0]!, 2 * LEASE);
    const gone = await replica(prefix, 'gone', ports[1]!, 2 * LEASE);
    lead.members.start();
    gone.members.start();
    lead.elector.start();
    await watchUntil([lead.elector], () => lead.elector.isLeader(), 5000, 'lead to lead');
    await sleep(LEASE / 3 + 300);
    let list = await lead.members.list();
    assert.deepEqual(list.map((m) => [m.id, m.healthy, m.leader]), [['gone', true, false], ['lead', true, true]]);

    await gone.members.stop({ remove: false }); // crashed: its Lease stays
    const goneLease = memberLeaseName(prefix, 'gone');
    const t0 = performance.now();
    for (;;) {
      list = await lead.members.list();
      const g = list.find((m) => m.id === 'gone');
      if (g && !g.healthy) break;
      assert.ok(g, 'stale member removed before it was ever reported unhealthy');
      assert.ok(performance.now() - t0 < LEASE + 3 * SLACK, 'stale member still healthy well after its lease duration');
      await sleep(100);
    }
    assert.ok(performance.now() - t0 >= LEASE - LEASE / 3 - 200, 'member reported unhealthy too early');

    // Garbage-collected by the leader after gcAfter (2 x lease here).
    const deadline = performance.now() + 2 * LEASE + 5 * SLACK;
    for (;;) {
      const exists = await api
        .readNamespacedLease({ name: goneLease, namespace: NS })
        .then(() => true)
        .catch((e: { code?: number }) => (e.code === 404 ? false : Promise.reject(e)));
      if (!exists) break;
      assert.ok(performance.now() < deadline, 'the leader did not remove the stale member Lease');
      await sleep(200);
    }
    assert.ok(performance.now() - t0 >= 2 * LEASE - LEASE / 3 - 300, 'removed before gcAfter');
    list = await lead.members.list();
    assert.deepEqual(list.map((m) => m.id), ['lead']);
  });

  test('graceful stop removes the member Lease; member Lease carries the label and address', async () => {
    const prefix = uniquePrefix('member');
    const [port] = await freePorts(1);
    const r = await replica(prefix, 'Weird_ID.1', port!);
    r.members.start();
    const name = memberLeaseName(prefix, 'Weird_ID.1');
    assert.match(name, new RegExp(`^${prefix}-member-weird-id\\.1-[0-9a-f]{8}$`));
    let lease;
    for (let i = 0; i < 50; i++) {
      lease = await api.readNamespacedLease({ name, namespace: NS }).catch(() => undefined);
      if (lease) break;
      await sleep(100);
    }
    assert.ok(lease, 'member Lease created');
    assert.equal(lease.metadata?.labels?.['tfe.operators.dev/member'], 'true');
    assert.equal(lease.metadata?.annotations?.['tfe.operators.dev/address'], `http://127.0.0.1:${port}`);
    assert.equal(lease.spec?.holderIdentity, 'Weird_ID.1');
    await r.members.stop();
    await assert.rejects(api.readNamespacedLease({ name, namespace: NS }), (e: { code?: number }) => e.code === 404);
  });
});
