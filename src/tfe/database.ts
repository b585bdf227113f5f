// TFE's PostgreSQL, as the settings name it (pg_netloc, pg_user, pg_password, pg_dbname,
// pg_extra_params): connect with those credentials, sslmode honoured as libpq reads it, short
// connect timeout, SELECT 1. The outcome tells apart what the user must fix (a refused login,
// a refused connection) from what the operator cannot know from where it runs (a timeout or
// an unresolvable name: private subnets and private DNS zones; the nodes' health decides then).
// The password is never part of any message.

import pg from 'pg';
import type { DatabaseProbeResult } from '../migration/observation.ts';

export interface DatabaseTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** libpq's sslmode: disable, allow, prefer (libpq's default), require, verify-ca, verify-full. */
  sslmode: string;
}

/** pg_netloc "host[:port]" (port 5432 by default). */
export function parseNetloc(netloc: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(netloc.trim());
  if (!m) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 5432 };
}

/** pg_extra_params: `k=v` pairs joined by `&` (TFE's format) or spaces (libpq's). */
export function parseExtraParams(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(/[&\s]+/)) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1));
  }
  return out;
}

/**
 * TFE_OPERATOR_CONNECT_TO, like curl's --connect-to: `HOST:PORT:CONNECT_HOST:CONNECT_PORT`,
 * comma-separated; HOST may be `*.suffix`, PORT and CONNECT_PORT may be empty (any / the same).
 * For an operator that reaches the database through a tunnel or another name. TLS still
 * verifies against the configured host.
 */
export function connectTo(host: string, port: number, spec: string | undefined): { host: string; port: number } {
  for (const rule of (spec ?? '').split(',').map((r) => r.trim()).filter(Boolean)) {
    const [h, p, ch, cp] = rule.split(':');
    if (h === undefined || ch === undefined) continue;
    const hostMatches = h.startsWith('*.') ? host.toLowerCase().endsWith(h.slice(1).toLowerCase()) : host.toLowerCase() === h.toLowerCase();
    if (hostMatches && (!p || Number(p) === port)) return { host: ch || host, port: cp ? Number(cp) : port };
  }
  return { host, port };
}

function sslOptions(t: DatabaseTarget): pg.ClientConfig['ssl'] {
  switch (t.sslmode) {
    case 'disable':
      return false;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { servername: t.host, checkServerIdentity: () => undefined };
    default:
      return { servername: t.host };
  }
}

const TLS_VERIFY = /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

export async function probeDatabase(t: DatabaseTarget, opts: { timeoutMs?: number; connectTo?: string } = {}): Promise<DatabaseProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const at = `${t.host}:${t.port}`;
  if (!['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(t.sslmode)) {
    return { outcome: 'failed', message: `pg_extra_params sets sslmode=${t.sslmode}, which libpq does not know (disable, allow, prefer, require, verify-ca, verify-full)` };
  }
  const dest = connectTo(t.host, t.port, opts.connectTo);
  const client = new pg.Client({
    host: dest.host,
    port: dest.port,
    user: t.user,
    password: t.password,
    database: t.database,
    ssl: sslOptions(t),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'tfe-operator',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    const version = String((await client.query('SHOW server_version')).rows[0]?.server_version ?? '');
    return { outcome: 'ok', message: `PostgreSQL ${version} at ${at} accepted pg_user ${t.user} on pg_dbname ${t.database} (sslmode=${t.sslmode})`, version };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const code = e.code ?? '';
    const text = `${e.message ?? String(err)}${/^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : code ? ` (${code})` : ''}`;
    if (/^28/.test(code)) return { outcome: 'authFailed', message: `PostgreSQL at ${at} refused pg_user ${t.user} on pg_dbname ${t.database}: ${text}` };
    if (code === '3D000') return { outcome: 'failed', message: `PostgreSQL at ${at} has no database pg_dbname ${t.database}: ${text}` };
    if (code === 'ECONNREFUSED') return { outcome: 'refused', message: `PostgreSQL at ${at} refused the connection: ${text}` };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { outcome: 'unreachable', message: `cannot resolve ${t.host} from the operator (${code}); a private DNS name?` };
    if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(e.message ?? '')) {
      return { outcome: 'unreachable', message: `no answer from ${at} within ${timeoutMs} ms (${code || 'timeout'}); private subnets?` };
    }
    if (TLS_VERIFY.test(code)) return { outcome: 'unverified', message: `cannot verify the certificate of ${at} (sslmode=${t.sslmode}) with the CAs the operator trusts: ${text}` };
    return { outcome: 'failed', message: `cannot use PostgreSQL at ${at}: ${text}` };
  } finally {
    await client.end().catch(() => {});
  }
}
