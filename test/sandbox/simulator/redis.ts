// The node's connection to Redis, for real: TCP (TLS when redis_use_tls is "1", trusting the
// sandbox CA and the system roots), AUTH with redis_pass when redis_use_password_auth is "1",
// PING, and a refusal of Redis Cluster mode (TFE does not support it).

import { Redis } from 'ioredis';
import { rootCertificates } from 'node:tls';
import type { RedisTarget } from './checks.ts';

export type RedisCheck = { ok: true; detail: string } | { ok: false; reason: string };

/** What one connection attempt found, before it is worded for a node. */
type Outcome = { kind: 'ok' } | { kind: 'pong'; pong: string } | { kind: 'cluster' } | { kind: 'failed'; step: string; raw: string };

/**
 * Nodes that reach the same server the same way (address, TLS, password, CA) share one
 * connection attempt per `shareMs`: with 2000 simulated nodes on one machine (the scale
 * benchmark) a TLS handshake per node per check would swamp the machine and Redis, and the
 * answer could not differ anyway. Each node still gets the message for its own redis_host.
 */
const RUN_QUEUE = 'tfe-sim:run-queue';

const shared = new Map<string, { startedAt: number; outcome: Promise<Outcome> }>();

export async function checkRedis(t: RedisTarget, ca: string | undefined, timeoutMs = 2000, shareMs = 1000): Promise<RedisCheck> {
  const key = JSON.stringify([t.connectHost, t.connectPort, t.tls, t.password ?? null, ca ?? null, timeoutMs]);
  let s = shared.get(key);
  if (!s || Date.now() - s.startedAt > shareMs) {
    s = { startedAt: Date.now(), outcome: attempt(t, ca, timeoutMs) };
    shared.set(key, s);
  }
  return worded(await s.outcome, t);
}

/**
 * A run's work through Redis, as TFE queues runs there: a connection of its own (never
 * shared), AUTH, PING, then RPUSH and LREM of `job` on a list. Fails as a node would.
 */
export async function queueThroughRedis(t: RedisTarget, ca: string | undefined, job: string, timeoutMs = 2000): Promise<RedisCheck> {
  return worded(await attempt(t, ca, timeoutMs, job), t);
}

function worded(o: Outcome, t: RedisTarget): RedisCheck {
  const where = t.aliased
    ? `${t.host}:${t.port} (sandbox Redis ${t.connectHost}:${t.connectPort})`
    : `${t.host}:${t.port}`;
  const how = `${t.tls ? 'TLS' : 'plain TCP'}, ${t.password !== undefined ? 'password auth' : 'no password'}`;
  switch (o.kind) {
    case 'ok':
      return { ok: true, detail: `Redis at ${where} answered PING (${how})` };
    case 'pong':
      return { ok: false, reason: `Redis at ${where} answered PING with ${JSON.stringify(o.pong)}` };
    case 'cluster':
      return { ok: false, reason: `Redis at ${where} runs in cluster mode, which TFE does not support` };
    case 'failed':
      return { ok: false, reason: `cannot use Redis at ${where} (${how}): ${o.step} failed: ${o.raw}${hint(o.raw, t)}` };
  }
}

async function attempt(t: RedisTarget, ca: string | undefined, timeoutMs: number, job?: string): Promise<Outcome> {
  const client = new Redis({
    host: t.connectHost,
    port: t.connectPort,
    // AUTH is sent explicitly below: ioredis tolerates a password the server does not
    // want, and TFE does not.
    tls: t.tls ? { ca: ca ? [ca, ...rootCertificates] : undefined } : undefined,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  let firstError: string | undefined;
  client.on('error', (err: Error) => {
    firstError ??= err.message;
  });
  let step = 'connect';
  try {
    await client.connect();
    if (t.password !== undefined) {
      step = 'AUTH';
      await client.call('AUTH', t.password);
    }
    step = 'PING';
    const pong = await client.ping();
    if (pong !== 'PONG') return { kind: 'pong', pong };
    step = 'INFO';
    const info = String(await client.info('cluster'));
    if (/^cluster_enabled:1/m.test(info)) return { kind: 'cluster' };
    if (job !== undefined) {
      step = 'RPUSH';
      await client.rpush(RUN_QUEUE, job);
      step = 'LREM';
      await client.lrem(RUN_QUEUE, 1, job);
    }
    return { kind: 'ok' };
  } catch (err) {
    const raw = firstError && /Connection is closed/.test((err as Error).message) ? firstError : (err as Error).message;
    return { kind: 'failed', step, raw };
  } finally {
    client.disconnect();
  }
}

function hint(raw: string, t: RedisTarget): string {
  if (/WRONGPASS|invalid password/i.test(raw)) return ' (redis_pass is wrong)';
  if (/NOAUTH/.test(raw)) return ' (the server requires a password: set redis_use_password_auth "1" and redis_pass)';
  if (/without any password configured/.test(raw)) return ' (the server has no password: set redis_use_password_auth "0")';
  if (/ECONNRESET|Connection is closed|socket hang up/.test(raw) && !t.tls) {
    return ' (the server closed the connection: it probably requires TLS, set redis_use_tls "1")';
  }
  if (/wrong version number|packet length|EPROTO/i.test(raw)) return ' (the server does not speak TLS: set redis_use_tls "0")';
  if (/ETIMEDOUT|timed? ?out/i.test(raw)) {
    return t.tls
      ? ' (no answer: a security group may block the port, or the server does not speak TLS)'
      : ' (no answer: a security group may block the port)';
  }
  if (/self[- ]signed|unable to verify|certificate/i.test(raw) && !/altnames/.test(raw)) {
    return ' (the node does not trust the server certificate)';
  }
  if (/altnames/.test(raw)) return ' (the server certificate does not name this host)';
  if (/ECONNREFUSED/.test(raw)) return ' (nothing listens there: check redis_port)';
  if (/ENOTFOUND|EAI_AGAIN/.test(raw)) return ' (redis_host does not resolve)';
  return '';
}
