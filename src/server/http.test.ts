import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { startStatusServer, type LeaderView, type StatusServer } from './http.ts';

const state = { leader: false, current: undefined as { id: string; address: string } | undefined, ready: false };
const view: LeaderView = {
  identity: 'me',
  address: 'http://10.0.0.1:8080',
  isLeader: () => state.leader,
  currentLeader: () => state.current,
};
const registry = new Registry();
new Counter({ name: 'unit_things_total', help: 'things', registers: [registry] }).inc(3);
let srv: StatusServer;
let fail = false;

before(async () => {
  srv = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    leader: view,
    registry,
    ready: () => state.ready,
    statusProvider: () => {
      if (fail) throw new Error('status unavailable');
      return { clusters: ['a'] };
    },
    members: {
      list: async () => [{ id: 'me', address: view.address!, healthy: true, leader: state.leader }],
      // What the member registry validated (members.ts peerAddress); 'forged' has no valid address.
      peerAddress: async (id) => (id === 'other' ? 'http://10.0.0.2:8080' : undefined),
    },
    logger: pino({ level: 'silent' }),
  });
});
after(() => srv.close());

const get = (path: string, init: RequestInit = {}) => fetch(`${srv.url}${path}`, { redirect: 'manual', ...init });

test('/healthz always, /readyz follows ready()', async () => {
  assert.equal((await get('/healthz')).status, 200);
  state.ready = false;
  assert.equal((await get('/readyz')).status, 503);
  state.ready = true;
  const r = await get('/readyz');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'ok');
});

test('/metrics serves the registry in Prometheus text format', async () => {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(await r.text(), /unit_things_total 3/);
});

test('/v1/status: leader answers, follower redirects (query kept), nobody known -> 503', async () => {
  state.leader = true;
  state.current = { id: 'me', address: view.address! };
  let r = await get('/v1/status');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { clusters: ['a'] });

  state.leader = false;
  state.current = { id: 'other', address: 'http://10.0.0.2:8080/' };
  r = await get('/v1/status?cluster=tfe%2Fprod');
  assert.equal(r.status, 307);
  assert.equal(r.headers.get('location'), 'http://10.0.0.2:8080/v1/status?cluster=tfe%2Fprod');
  assert.deepEqual(await r.json(), { leader: { id: 'other', address: 'http://10.0.0.2:8080' } });

  // The leader record's own address is never used: only the registry's validated one.
  state.current = { id: 'forged', address: 'http://169.254.169.254/latest/meta-data' };
  r = await get('/v1/status');
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('location'), null);

  state.current = undefined;
  r = await get('/v1/status');
  assert.equal(r.status, 503);
  // A record naming this replica while it does not lead must not redirect to itself.
  state.current = { id: 'me', address: view.address! };
  assert.equal((await get('/v1/status')).status, 503);
});

test('a failing status provider is a 503 with the reason, not a crash', async () => {
  state.leader = true;
  fail = true;
  const r = await get('/v1/status');
  assert.equal(r.status, 503);
  assert.deepEqual(await r.json(), { error: 'status unavailable' });
  fail = false;
});

test('/v1/status/cluster, unknown paths and methods', async () => {
  state.leader = true;
  state.current = { id: 'me', address: view.address! };
  const r = await get('/v1/status/cluster');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {
    self: { id: 'me', address: view.address, leader: true },
    leader: { id: 'me', address: view.address },
    members: [{ id: 'me', address: view.address, healthy: true, leader: true }],
  });
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/v1/status', { method: 'DELETE' })).status, 405);
  const head = await get('/healthz', { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('with an authorizer: /v1/* needs a token (401), the right (403); probes and metrics stay open', async () => {
  const { kubeAuthorizer } = await import('./auth.ts');
  const asked: string[] = [];
  const auth = kubeAuthorizer({
    async tokenReview(token) {
      return token === 'bad' ? { authenticated: false } : { authenticated: true, user: { username: token, groups: [] } };
    },
    async accessReview(user, access) {
      asked.push(`${user.username} ${access.verb} ${access.namespace || '*'}`);
      return { allowed: user.username === 'reader' || (user.username === 'tfe-reader' && access.namespace === 'tfe') };
    },
  });
  const s = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    leader: { identity: 'me', isLeader: () => true, currentLeader: () => ({ id: 'me', address: '' }) },
    auth,
    statusProvider: (q) => ({ namespace: q.namespace ?? null }),
    logger: pino({ level: 'silent' }),
  });
  try {
    const as = (token: string | undefined, path = '/v1/status') =>
      fetch(`${s.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    for (const path of ['/healthz', '/readyz']) assert.equal((await as(undefined, path)).status, 200, path);
    const none = await as(undefined);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await as(undefined, '/v1/status/cluster')).status, 401);
    assert.equal((await as(undefined, '/v1/anything')).status, 401);
    assert.equal((await as('bad')).status, 401);
    const denied = await as('nobody');
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { error: string }).error, /nobody may not list tfeclusters.tfe.operators.dev in every namespace/);
    assert.equal((await as('reader')).status, 200);
    assert.equal((await as('reader', '/v1/status/cluster')).status, 200);
    // The right in one namespace is enough for that namespace's part.
    assert.equal((await as('tfe-reader')).status, 403);
    const narrowed = await as('tfe-reader', '/v1/status?namespace=tfe');
    assert.equal(narrowed.status, 200);
    assert.deepEqual(await narrowed.json(), { namespace: 'tfe' });
    assert.equal((await as('tfe-reader', '/v1/status?namespace=default')).status, 403);
    assert.ok(asked.includes('tfe-reader list tfe'));
  } finally {
    await s.close();
  }
});

test('validPeerAddress: IP literals on an allowed port only', async () => {
  const { validPeerAddress } = await import('../ha/members.ts');
  const ports = { min: 8080, max: 8080 };
  assert.equal(validPeerAddress('http://10.1.2.3:8080', ports), 'http://10.1.2.3:8080');
  assert.equal(validPeerAddress('http://[fd00::1]:8080/', ports), 'http://[fd00::1]:8080');
  for (const bad of [
    'http://10.1.2.3:9090',
    'http://evil.example.com:8080',
    'http://169.254.169.254:8080',
    'http://0.0.0.0:8080',
    'http://[fe80::1]:8080',
    'http://10.1.2.3:8080/x',
    'http://u:p@10.1.2.3:8080',
    'http://10.1.2.3:8080?a=1',
    'file:///etc/passwd',
    'javascript:alert(1)',
    '',
  ]) {
    assert.equal(validPeerAddress(bad, ports), undefined, bad);
  }
});
