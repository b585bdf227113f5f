// What a Terraform Enterprise node checks before it reports healthy, as pure functions over
// the install it booted with. These are the simulator's own checks (written from the
// Active/Active guide), deliberately not the operator's validators: the simulator must be
// able to disagree with the operator.

/** The first release that runs several nodes (v202101-1); the simulator emulates it and later. */
export const MIN_RELEASE_SEQUENCE = 504;

/** ptfe-settings.json as the node has it after boot: every value, secrets included. */
export type EffectiveSettings = Record<string, string>;

/** Settings that hold secrets: shown as "<redacted>", never with their value. */
const SECRET_SETTING = /pass|secret|token|credentials|_key$|^enc_|license$/i;

/** Settings for display: secret settings never show their value. */
export function redactedSettings(s: EffectiveSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, SECRET_SETTING.test(k) ? '<redacted>' : v]));
}

const CONSOLE_SECRET_KEYS = ['DaemonAuthenticationPassword', 'TlsBootstrapKey'];

export function redactedReplicatedConf(conf: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...conf };
  for (const k of CONSOLE_SECRET_KEYS) if (k in out) out[k] = '<redacted>';
  return out;
}

const set = (s: EffectiveSettings, k: string) => s[k] !== undefined && s[k].trim() !== '';

/**
 * Problems that keep the installed application from starting, whatever the other nodes do.
 * Each names the setting and what is wrong with it.
 */
export function configProblems(conf: Record<string, unknown>, s: EffectiveSettings): string[] {
  const out: string[] = [];
  const seq = conf.ReleaseSequence;
  if (seq === undefined) {
    out.push(`ReleaseSequence is not set in replicated.conf: the release is not pinned (this simulator stands for ${MIN_RELEASE_SEQUENCE}, v202101-1, and later)`);
  } else if (typeof seq !== 'number' || !Number.isInteger(seq)) {
    out.push(`ReleaseSequence in replicated.conf is ${JSON.stringify(seq)}, not an integer: the installer rejects it`);
  } else if (seq < MIN_RELEASE_SEQUENCE) {
    out.push(`ReleaseSequence ${seq} is below ${MIN_RELEASE_SEQUENCE} (v202101-1): this release cannot run as an Active/Active-capable node`);
  }
  if (typeof conf.ImportSettingsFrom !== 'string' || conf.ImportSettingsFrom === '') {
    out.push('replicated.conf has no ImportSettingsFrom: the installer waits for the admin console instead of installing unattended');
  }
  if (typeof conf.LicenseFileLocation !== 'string' || conf.LicenseFileLocation === '') {
    out.push('replicated.conf has no LicenseFileLocation: the installer has no license');
  }
  if (s.production_type !== 'external') {
    out.push(
      `production_type is ${s.production_type === undefined ? 'not set' : JSON.stringify(s.production_type)}, not "external": the node needs External Services mode (external PostgreSQL and object storage)`,
    );
  } else {
    const pg = ['pg_user', 'pg_password', 'pg_netloc', 'pg_dbname'].filter((k) => !set(s, k));
    if (pg.length) out.push(`External Services mode without ${pg.join(', ')}: the application cannot reach PostgreSQL`);
    const placement = s.placement;
    const storage: Record<string, string[]> = {
      placement_s3: ['s3_bucket', 's3_region'],
      placement_azure: ['azure_account_name', 'azure_account_key', 'azure_container'],
      placement_gcs: ['gcs_bucket', 'gcs_project', 'gcs_credentials'],
    };
    if (placement === undefined || storage[placement] === undefined) {
      out.push(`placement is ${placement === undefined ? 'not set' : JSON.stringify(placement)}: External Services mode needs object storage (placement_s3, placement_azure or placement_gcs)`);
    } else {
      const missing = storage[placement]!.filter((k) => !set(s, k));
      if (missing.length) out.push(`${placement} without ${missing.join(', ')}: the application cannot reach object storage`);
    }
  }
  if (!set(s, 'enc_password')) {
    out.push('enc_password is not set: the node cannot unseal its Vault (every node needs the same enc_password)');
  }
  if (s.enable_active_active === '1') {
    if (!set(s, 'redis_host')) out.push('enable_active_active is "1" but redis_host is not set');
    if (!set(s, 'redis_port')) out.push('enable_active_active is "1" but redis_port is not set');
    else if (!/^\d+$/.test(s.redis_port!) || Number(s.redis_port) < 1 || Number(s.redis_port) > 65535) {
      out.push(`redis_port is ${JSON.stringify(s.redis_port)}, not a port number`);
    }
    if (s.redis_use_password_auth === '1' && !set(s, 'redis_pass')) {
      out.push('redis_use_password_auth is "1" but redis_pass is not set');
    }
  }
  return out;
}

/** Several nodes share one installation only in Active/Active mode. */
export function multiNodeProblem(s: EffectiveSettings, groupName: string, instances: number): string | undefined {
  if (instances > 1 && s.enable_active_active !== '1') {
    const found = s.enable_active_active === undefined ? 'not set' : JSON.stringify(s.enable_active_active);
    return `${instances} instances in Auto Scaling group ${groupName} but enable_active_active is ${found}, not "1": nodes with internal Redis cannot share one installation`;
  }
  return undefined;
}

export interface RedisTarget {
  /** As configured (redis_host:redis_port). */
  host: string;
  port: number;
  /** Where the node's network actually sends the connection. */
  connectHost: string;
  connectPort: number;
  aliased: boolean;
  tls: boolean;
  password?: string;
}

export interface RedisAlias {
  host: string;
  port: number;
  caFile?: string;
}

/** ElastiCache endpoint names resolve to the sandbox redis-server; other hosts are used as given. */
export function redisTarget(s: EffectiveSettings, alias: RedisAlias | undefined): RedisTarget {
  return redisTargetOf(
    {
      host: s.redis_host!,
      port: Number(s.redis_port),
      tls: s.redis_use_tls === '1',
      ...(s.redis_use_password_auth === '1' ? { password: s.redis_pass } : {}),
    },
    alias,
  );
}

/** The same for an endpoint already read from an install (any kind). */
export function redisTargetOf(r: { host: string; port: number; tls: boolean; password?: string }, alias: RedisAlias | undefined): RedisTarget {
  const aliased = alias !== undefined && /\.cache\.amazonaws\.com\.?$/i.test(r.host);
  return {
    host: r.host,
    port: r.port,
    connectHost: aliased ? alias.host : r.host,
    connectPort: aliased ? alias.port : r.port,
    aliased,
    tls: r.tls,
    ...(r.password !== undefined ? { password: r.password } : {}),
  };
}
