// The node's connection to Redis, for real: TCP (TLS when redis_use_tls is "1", trusting the
// sandbox CA and the system roots), AUTH with redis_pass when redis_use_password_auth is "1",
// PING, and a refusal of Redis Cluster mode (TFE does not support it).

import { Redis } from 'ioredis';
import { rootCertificates } from 'node:tls';
import type { RedisTarget } from './checks.ts';

export type RedisCheck = { ok: true; detail: string } | { ok: false; reason: string };

export async function checkRedis(t: RedisTarget, ca: string | undefined, timeoutMs = 2000): Promise<RedisCheck> {
  const where = t.aliased
    ? `${t.host}:${t.port} (sandbox Redis ${t.connectHost}:${t.connectPort})`
    : `${t.host}:${t.port}`;
  const how = `${t.tls ? 'TLS' : 'plain TCP'}, ${t.password !== undefined ? 'password auth' : 'no password'}`;
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
    if (pong !== 'PONG') return { ok: false, reason: `Redis at ${where} answered PING with ${JSON.stringify(pong)}` };
    step = 'INFO';
    const info = String(await client.info('cluster'));
    if (/^cluster_enabled:1/m.test(info)) {
      return { ok: false, reason: `Redis at ${where} runs in cluster mode, which TFE does not support` };
    }
    return { ok: true, detail: `Redis at ${where} answered PING (${how})` };
  } catch (err) {
    const raw = firstError && /Connection is closed/.test((err as Error).message) ? firstError : (err as Error).message;
    return { ok: false, reason: `cannot use Redis at ${where} (${how}): ${step} failed: ${raw}${hint(raw, t)}` };
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
