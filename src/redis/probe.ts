// Probe an external Redis the way TFE will use it: reachable, AUTH works, TLS 1.2 or newer
// when TLS is on, not in cluster mode, version 4.0 or newer. Uses ioredis.

import { Redis } from 'ioredis';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RedisProbeResult } from '../migration/observation.ts';

export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  password?: string;
  ca?: string;
  timeoutMs?: number;
}

export const MIN_REDIS_MAJOR = 4;

export function parseInfo(info: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export async function probeRedis(t: RedisTarget): Promise<RedisProbeResult> {
  const timeout = t.timeoutMs ?? 3000;
  const redis = new Redis({
    host: t.host,
    port: t.port,
    password: t.password,
    // SNI takes a host name only (Node warns on stderr for an IP address).
    tls: t.tls ? { ca: t.ca, minVersion: 'TLSv1.2', servername: isIP(t.host) ? undefined : t.host } : undefined,
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis reports what went wrong as an 'error' event and then rejects connect() with a
  // bare "Connection is closed."; keep the first event, and whether the socket was up at all.
  let firstError: Error | undefined;
  let socketUp = false;
  redis.on('error', (err: Error) => void (firstError ??= err));
  redis.on('connect', () => void (socketUp = true));
  const where = `${t.host}:${t.port}`;
  try {
    try {
      await redis.connect();
    } catch (err) {
      return classifyConnectError(err as Error, where, { firstError, socketUp, tls: t.tls });
    }
    if (t.tls) {
      const socket = (redis as unknown as { stream?: TLSSocket }).stream;
      const protocol = socket?.getProtocol?.();
      if (protocol && !/^TLSv1\.[23]$/.test(protocol)) {
        return { ok: false, reason: 'TlsTooOld', message: `Redis at ${where} negotiated ${protocol}; TFE needs TLS 1.2 or newer` };
      }
    }
    let info: Record<string, string>;
    try {
      info = parseInfo(String(await redis.info()));
    } catch (err) {
      return classifyCommandError(err as Error, where);
    }
    const version = info.redis_version;
    if (!version) return { ok: false, reason: 'NotRedis', message: `${where} answered INFO without redis_version: it does not look like Redis` };
    if (info.cluster_enabled === '1' || info.redis_mode === 'cluster') {
      return { ok: false, reason: 'ClusterMode', message: `Redis at ${where} runs in cluster mode, which TFE does not support: use a primary/replica (or Sentinel) deployment`, version };
    }
    const major = Number(version.split('.')[0]);
    if (!(major >= MIN_REDIS_MAJOR)) {
      return { ok: false, reason: 'VersionTooOld', message: `Redis at ${where} is version ${version}; TFE needs 4.0 or newer`, version };
    }
    return { ok: true, message: `Redis ${version} at ${where}`, version };
  } finally {
    redis.disconnect();
  }
}

function classifyConnectError(err: Error, where: string, seen: { firstError?: Error; socketUp: boolean; tls?: boolean } = { socketUp: false }): RedisProbeResult {
  const generic = /Connection is closed/i.test(err.message ?? '');
  const m = (generic && seen.firstError ? seen.firstError.message : err.message) ?? String(err);
  // The Redis reply parser's complaint: something answered, in another protocol.
  if (/Protocol error, got/i.test(m)) return { ok: false, reason: 'NotRedis', message: `${where} does not speak the Redis protocol (${firstLine(m)})` };
  if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(m)) {
    return { ok: false, reason: 'AuthFailed', message: `Redis at ${where} refused the password (${firstLine(m)}): check the password Secret` };
  }
  if (/protocol|SSL|TLS|certificate|EPROTO|wrong version/i.test(m)) {
    return { ok: false, reason: 'TlsFailed', message: `TLS to Redis at ${where} failed (${firstLine(m)}): check spec.redis.external.tls and caSecretRef` };
  }
  if (/Protocol error|unknown|reply/i.test(m)) return { ok: false, reason: 'NotRedis', message: `${where} does not speak the Redis protocol (${firstLine(m)})` };
  const tlsHint = seen.tls ? '' : ' (or it expects TLS: see spec.redis.external.tls)';
  if (seen.socketUp && /timed out/i.test(m)) {
    return { ok: false, reason: 'NotRedis', message: `${where} accepted the connection but did not answer like Redis: it does not look like Redis${tlsHint}` };
  }
  if (seen.socketUp && generic && !seen.firstError) {
    // Closed by the other side before any answer: a Redis shutting down or restarting does that.
    return { ok: false, reason: 'Unreachable', message: `Redis at ${where} closed the connection before answering: it may be restarting${tlsHint}` };
  }
  return { ok: false, reason: 'Unreachable', message: `cannot reach Redis at ${where} (${firstLine(m)}): check host, port and the network path` };
}

function classifyCommandError(err: Error, where: string): RedisProbeResult {
  const m = err.message ?? String(err);
  if (/NOAUTH|WRONGPASS/i.test(m)) return { ok: false, reason: 'AuthFailed', message: `Redis at ${where} needs a password (${firstLine(m)}): set passwordSecretRef` };
  if (/timed out|timeout/i.test(m)) return { ok: false, reason: 'NotRedis', message: `${where} accepted a connection but did not answer INFO: it does not look like Redis` };
  return { ok: false, reason: 'NotRedis', message: `${where} did not answer INFO like Redis (${firstLine(m)})` };
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 200);
}
