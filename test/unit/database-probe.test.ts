// probeDatabase against a real PostgreSQL (the sandbox's: Debian's server, TLS only, SCRAM),
// started here on a free port: each outcome the planner tells apart, sslmode as libpq reads
// it, TFE_OPERATOR_CONNECT_TO, and no password in any message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type SandboxPostgres } from '../sandbox/postgres.ts';
import { connectTo, parseExtraParams, parseNetloc, probeDatabase, type DatabaseTarget } from '../../src/tfe/database.ts';

const PASSWORD = 'probe-test-pg-password-NOT-A-SECRET-77e1';
let dir: string;
let pg: SandboxPostgres;
let target: DatabaseTarget;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'db-probe-'));
  pg = await startPostgres({ dir: join(dir, 'pg') });
  await pg.ensureDatabase({ dbname: 'tfe', user: 'tfe', password: PASSWORD });
  target = { host: pg.host, port: pg.port, user: 'tfe', password: PASSWORD, database: 'tfe', sslmode: 'require' };
});
after(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the configured login works: ok, with the server version', async () => {
  const r = await probeDatabase(target);
  assert.equal(r.outcome, 'ok', r.message);
  assert.match(r.message, /^PostgreSQL 1\d\.\d+.* accepted pg_user tfe on pg_dbname tfe \(sslmode=require\)/);
});

test('a wrong password: authFailed with the server\'s words, never the password', async () => {
  const r = await probeDatabase({ ...target, password: 'wrong-password-NOT-A-SECRET' });
  assert.equal(r.outcome, 'authFailed', r.message);
  assert.match(r.message, /password authentication failed for user "tfe" \(SQLSTATE 28P01\)/);
  assert.ok(!r.message.includes('wrong-password') && !r.message.includes(PASSWORD));
});

test('sslmode=disable against a server that requires TLS: authFailed (no pg_hba.conf entry ... no encryption)', async () => {
  const r = await probeDatabase({ ...target, sslmode: 'disable' });
  assert.equal(r.outcome, 'authFailed', r.message);
  assert.match(r.message, /no encryption/);
});

test('verify-full with a CA the operator does not trust: unverified (not a failure of the settings)', async () => {
  const r = await probeDatabase({ ...target, host: 'localhost', sslmode: 'verify-full' });
  assert.equal(r.outcome, 'unverified', r.message);
});

test('an unknown database: failed', async () => {
  const r = await probeDatabase({ ...target, database: 'nope' });
  assert.equal(r.outcome, 'failed', r.message);
  assert.match(r.message, /no database pg_dbname nope/);
});

test('nothing listening: refused; an unresolvable name: unreachable (the operator cannot tell)', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const refused = await probeDatabase({ ...target, port });
  assert.equal(refused.outcome, 'refused', refused.message);
  const dns = await probeDatabase({ ...target, host: 'tfe-db.does-not-exist.invalid' });
  assert.equal(dns.outcome, 'unreachable', dns.message);
});

test('TFE_OPERATOR_CONNECT_TO leads a private name to the server (TLS still for the configured name)', async () => {
  const spec = `*.sandbox.internal::${pg.host}:${pg.port}`;
  const r = await probeDatabase({ ...target, host: 'tfe-postgres.sandbox.internal', port: 5432 }, { connectTo: spec });
  assert.equal(r.outcome, 'ok', r.message);
  assert.match(r.message, /at tfe-postgres\.sandbox\.internal:5432/);
  assert.deepEqual(connectTo('db.example.com', 5432, spec), { host: 'db.example.com', port: 5432 });
  assert.deepEqual(connectTo('x.rds.amazonaws.com', 5432, 'x.rds.amazonaws.com:5432:127.0.0.1:'), { host: '127.0.0.1', port: 5432 });
  assert.deepEqual(connectTo('x.rds.amazonaws.com', 5433, 'x.rds.amazonaws.com:5432:127.0.0.1:'), { host: 'x.rds.amazonaws.com', port: 5433 });
});

test('pg_netloc and pg_extra_params parse as TFE writes them', () => {
  assert.deepEqual(parseNetloc('db.example.com:6543'), { host: 'db.example.com', port: 6543 });
  assert.deepEqual(parseNetloc('db.example.com'), { host: 'db.example.com', port: 5432 });
  assert.equal(parseNetloc('a b'), undefined);
  assert.deepEqual(parseExtraParams('sslmode=verify-full&sslrootcert=/etc/ssl/rds.pem'), { sslmode: 'verify-full', sslrootcert: '/etc/ssl/rds.pem' });
  assert.deepEqual(parseExtraParams('sslmode=require connect_timeout=5'), { sslmode: 'require', connect_timeout: '5' });
});
