// The node's external services, for real: its PostgreSQL (pg_netloc, pg_user, pg_password,
// pg_dbname, pg_extra_params' sslmode) and its object storage bucket (s3_bucket, s3_region).
// TFE's startup checks query the database (`SHOW server_version`, 12 to 16 supported) and
// exit on failure, logging e.g.
//   terraform-enterprise: check failed: name=database duration=... err="..."
// (HashiCorp, "Startup checks"); a node here says the same in its reason.
import pg from 'pg';
import { rootCertificates } from 'node:tls';
import type { EffectiveSettings } from './checks.ts';

export type ExternalCheck = { ok: true; detail: string } | { ok: false; reason: string };

export interface PostgresAlias {
  host: string;
  port: number;
  caFile?: string;
}

export interface PgTarget {
  /** As configured (pg_netloc). */
  host: string;
  port: number;
  connectHost: string;
  connectPort: number;
  aliased: boolean;
  user: string;
  password: string;
  database: string;
  sslmode: string;
}

/** RDS endpoints and private-zone names (`*.internal`) lead to the sandbox PostgreSQL; other hosts are used as given. */
export const PG_ALIASED = /\.(rds\.amazonaws\.com|internal)\.?$/i;

/** pg_extra_params: `k=v` pairs joined by `&` (TFE's format) or spaces (libpq's). */
export function pgExtraParams(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(/[&\s]+/)) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export function pgTarget(s: EffectiveSettings, alias: PostgresAlias | undefined): PgTarget {
  const netloc = s.pg_netloc ?? '';
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(netloc);
  const host = m?.[1] ?? netloc;
  const port = m?.[2] ? Number(m[2]) : 5432;
  const aliased = alias !== undefined && PG_ALIASED.test(host);
  return {
    host,
    port,
    connectHost: aliased ? alias.host : host,
    connectPort: aliased ? alias.port : port,
    aliased,
    user: s.pg_user ?? '',
    password: s.pg_password ?? '',
    database: s.pg_dbname ?? '',
    // libpq's default is "prefer"
    sslmode: pgExtraParams(s.pg_extra_params).sslmode ?? 'prefer',
  };
}

/** TLS options for an sslmode, as libpq reads them: require encrypts only, verify-ca checks the chain, verify-full the name too. */
function sslFor(t: PgTarget, ca: string | undefined): pg.ClientConfig['ssl'] {
  switch (t.sslmode) {
    case 'disable':
      return false;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { ca: [...(ca ? [ca] : []), ...rootCertificates], checkServerIdentity: () => undefined };
    default: // verify-full
      return { ca: [...(ca ? [ca] : []), ...rootCertificates], servername: t.host };
  }
}

const SSLMODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/** Nodes that reach the same database the same way share one attempt per `shareMs` (the scale benchmark's 2000 nodes). */
const shared = new Map<string, { startedAt: number; outcome: Promise<ExternalCheck> }>();

export async function checkPostgres(t: PgTarget, ca: string | undefined, timeoutMs = 3000, shareMs = 1000): Promise<ExternalCheck> {
  // A simulator started without a sandbox PostgreSQL cannot reach RDS or private names: not checked.
  if (!t.aliased && PG_ALIASED.test(t.host)) return { ok: true, detail: `PostgreSQL at ${t.host}:${t.port} not checked (no sandbox PostgreSQL)` };
  if (!SSLMODES.has(t.sslmode)) return failed(t, `invalid sslmode value: ${JSON.stringify(t.sslmode)}`);
  const key = JSON.stringify([t.host, t.connectHost, t.connectPort, t.user, t.password, t.database, t.sslmode, ca ?? null]);
  let s = shared.get(key);
  if (!s || Date.now() - s.startedAt > shareMs) {
    s = { startedAt: Date.now(), outcome: attemptPostgres(t, ca, timeoutMs) };
    shared.set(key, s);
    if (shared.size > 1000) for (const [k, v] of shared) if (Date.now() - v.startedAt > shareMs) shared.delete(k);
  }
  return s.outcome;
}

function where(t: PgTarget): string {
  return `host=${t.host} port=${t.port} user=${t.user} database=${t.database}${t.aliased ? ` (sandbox PostgreSQL ${t.connectHost}:${t.connectPort})` : ''}`;
}

function failed(t: PgTarget, err: string): ExternalCheck {
  return { ok: false, reason: `check failed: name=database err="failed to connect to \`${where(t)}\`: ${err}"` };
}

async function attemptPostgres(t: PgTarget, ca: string | undefined, timeoutMs: number): Promise<ExternalCheck> {
  const client = new pg.Client({
    host: t.connectHost,
    port: t.connectPort,
    user: t.user,
    password: t.password,
    database: t.database,
    ssl: sslFor(t, ca),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const version = String((await client.query('SHOW server_version')).rows[0]?.server_version ?? '');
    const major = Number(version.split('.')[0]);
    if (!(major >= 12 && major <= 16)) return failed(t, `unsupported PostgreSQL version ${version} (12 to 16 are supported)`);
    return { ok: true, detail: `PostgreSQL ${version} at ${t.host}:${t.port} (sslmode=${t.sslmode})` };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    const sqlstate = e.code && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : '';
    return failed(t, `${e.code && !sqlstate ? `${e.code} ` : ''}${e.message ?? String(err)}${sqlstate}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** placement_s3: the bucket exists (HeadBucket) in s3_region (GetBucketLocation), asked through `head`. */
export async function checkBucket(s: EffectiveSettings, head: (bucket: string) => Promise<{ exists: boolean; region?: string; error?: string }>): Promise<ExternalCheck> {
  if (s.placement !== 'placement_s3') return { ok: true, detail: `object storage ${s.placement ?? 'none'} not checked` };
  const bucket = s.s3_bucket!;
  const r = await head(bucket);
  if (r.error) return { ok: false, reason: `check failed: name=object-storage err="s3 bucket ${bucket}: ${r.error}"` };
  if (!r.exists) return { ok: false, reason: `check failed: name=object-storage err="s3 bucket ${bucket}: NoSuchBucket: the bucket does not exist"` };
  if (r.region && s.s3_region && r.region !== s.s3_region) {
    return { ok: false, reason: `check failed: name=object-storage err="s3 bucket ${bucket} is in ${r.region}, not in s3_region ${s.s3_region}: PermanentRedirect"` };
  }
  return { ok: true, detail: `s3 bucket ${bucket} (${r.region ?? s.s3_region})` };
}
