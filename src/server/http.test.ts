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
    members: { list: async () => [{ id: 'me', address: view.address!, healthy: true, leader: state.leader }] },
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
  assert.deepEqual(await r.json(), { leader: { id: 'other', address: 'http://10.0.0.2:8080/' } });

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
