// What a Terraform Enterprise FDO (Flexible Deployment Options) container checks before it
// starts, as pure functions: the image tags that exist, the sandbox's FDO license format, the
// configuration variables each operational mode needs, and how a release answers its health
// endpoints. The simulator's own reading of HashiCorp's documentation, not the operator's code.
//
// Sources (hashicorp/web-unified-docs, content/terraform-enterprise/...):
//   - releases/index.mdx (v202503-1 and 2.0.x trees): the FDO Docker releases by tag, and the
//     Replicated release sequences of the releases that shipped both ways;
//   - releases/1.2.x/index.mdx: 1.2.0 adds /api/v1/health/readiness and deprecates /_health_check;
//     1.2.0's readiness answers 301 unless the Host header is TFE_HOSTNAME (fixed in 1.2.1);
//   - releases/2.0.x/index.mdx: /_health_check answers 410; "Startup checks now fail if any node
//     on a non-compatible version ran in the last 10 seconds";
//   - api-docs/readiness.mdx: the readiness JSON ({ node, status OK|ERROR|DRAINING, checks });
//   - deploy/reference/configuration (the configuration reference) and startup-checks (the
//     "check failed: name=configuration" log shape);
//   - hashicorp/terraform-aws-terraform-enterprise-hvd templates/tfe_user_data.sh.tpl (the
//     compose file's variables, the registry login with the license).

import { createHash, randomBytes } from 'node:crypto';

export const FDO_REGISTRY = 'images.releases.hashicorp.com';
export const FDO_IMAGE = 'hashicorp/terraform-enterprise';
export const FDO_REGISTRY_USER = 'terraform';

/**
 * FDO image tags that exist (a small list): the monthly releases that shipped for Docker from
 * v202309-1 (v202404-1 was withdrawn: "This release is unavailable"), then semantic versions.
 */
export const FDO_TAGS: readonly string[] = [
  'v202309-1', 'v202310-1', 'v202311-1', 'v202312-1',
  'v202401-1', 'v202401-2', 'v202402-1', 'v202402-2', 'v202404-2', 'v202405-1', 'v202406-1', 'v202407-1',
  'v202408-1', 'v202409-1', 'v202409-2', 'v202409-3', 'v202410-1', 'v202411-1', 'v202411-2',
  'v202501-1', 'v202502-1', 'v202502-2', 'v202503-1', 'v202504-1', 'v202505-1', 'v202506-1', 'v202507-1',
  '1.0.0', '1.1.0', '1.2.0', '1.2.1', '1.2.2', '2.0.0',
];

/**
 * Replicated release sequence -> FDO tag, for the releases that shipped both ways (the Replicated
 * tab of releases/index.mdx in the v202503-1 docs lists the sequences; v202503-1, 811, was the last).
 */
export const SEQUENCE_TO_TAG: Readonly<Record<number, string>> = {
  751: 'v202401-1', 757: 'v202401-2', 759: 'v202402-1', 760: 'v202402-2', 764: 'v202404-2',
  772: 'v202405-1', 776: 'v202406-1', 779: 'v202407-1', 781: 'v202408-1', 787: 'v202409-1',
  789: 'v202409-2', 791: 'v202409-3', 798: 'v202410-1', 804: 'v202411-1', 805: 'v202411-2',
  806: 'v202501-1', 808: 'v202502-1', 810: 'v202502-2', 811: 'v202503-1',
};

/** A release by its tag: calendar (vYYYYMM-N) or semantic (major.minor.patch). */
export type Release = { kind: 'calver'; year: number; month: number; n: number } | { kind: 'semver'; major: number; minor: number; patch: number };

export function parseTag(tag: string): Release | undefined {
  let m = /^v(\d{4})(\d{2})-(\d+)$/.exec(tag);
  if (m) return { kind: 'calver', year: Number(m[1]), month: Number(m[2]), n: Number(m[3]) };
  m = /^(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  if (m) return { kind: 'semver', major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  return undefined;
}

/** Whether the release is semantic and at least major.minor. */
export function atLeast(tag: string, major: number, minor = 0): boolean {
  const r = parseTag(tag);
  return r?.kind === 'semver' && (r.major > major || (r.major === major && r.minor >= minor));
}

/** How a release answers its health endpoints. */
export function healthEndpoints(tag: string): { readiness: boolean; readinessNeedsHost: boolean; healthCheck: 'serves' | 'deprecated' | 'gone' } {
  return {
    readiness: atLeast(tag, 1, 2),
    readinessNeedsHost: tag === '1.2.0',
    healthCheck: atLeast(tag, 2) ? 'gone' : atLeast(tag, 1, 2) ? 'deprecated' : 'serves',
  };
}

// ---------------------------------------------------------------------------------------
// The sandbox FDO license. A real one (a .hclic file, or the TFE_LICENSE value) is one line of
// signed text. The sandbox's: three dot-separated base64url parts, like a JWT:
//   base64url(JSON payload) . base64url(16 signature bytes) . first 32 hex digits of
//   SHA-256("<part 1>.<part 2>")
// so one character changed, lost or added (a trailing newline) is refused.

export interface FdoLicensePayload {
  license_id: string;
  customer: string;
  product: 'terraform-enterprise';
}

export function makeFdoLicense(payload: Omit<FdoLicensePayload, 'product'>, seed?: string): string {
  const body = Buffer.from(JSON.stringify({ ...payload, product: 'terraform-enterprise' }), 'utf8').toString('base64url');
  const sig = (seed === undefined ? randomBytes(16) : createHash('sha256').update(`fdo-sig:${seed}`).digest().subarray(0, 16)).toString('base64url');
  return `${body}.${sig}.${sum(`${body}.${sig}`)}`;
}

const sum = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32);

/** Why this is not a valid sandbox FDO license, or undefined when it is. */
export function fdoLicenseProblem(license: string): string | undefined {
  if (license === '') return 'the license is empty';
  if (/\s/.test(license)) return 'the license holds whitespace (a trailing newline?)';
  const parts = license.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return 'the license is not in the license format (three dot-separated parts)';
  if (sum(`${parts[0]}.${parts[1]}`) !== parts[2]) return 'the license signature does not match';
  try {
    const p = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Partial<FdoLicensePayload>;
    if (p.product !== 'terraform-enterprise') return 'the license is not for Terraform Enterprise';
  } catch {
    return 'the license payload is unreadable';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Configuration: the variables TFE reads from its environment, checked as its "configuration"
// startup check does. `env` is the container's environment; `fileExists` answers for paths as the
// container sees them.

export type FdoEnv = Record<string, string>;
export const OPERATIONAL_MODES = ['disk', 'external', 'active-active'] as const;

const truthy = (v: string | undefined) => v === 'true' || v === '1';
const isBool = (v: string | undefined) => v === undefined || v === '' || ['true', 'false', '1', '0'].includes(v);

export function operationalMode(env: FdoEnv): string {
  return env.TFE_OPERATIONAL_MODE || 'disk';
}

/** Problems that make the configuration startup check fail; each names the variable. */
export function fdoConfigProblems(env: FdoEnv, fileExists: (containerPath: string) => boolean): string[] {
  const out: string[] = [];
  const has = (k: string) => env[k] !== undefined && env[k].trim() !== '';
  const need = (k: string, why: string) => {
    if (!has(k)) out.push(`${k} is required${why}`);
  };
  const mode = operationalMode(env);
  if (!(OPERATIONAL_MODES as readonly string[]).includes(mode)) {
    out.push(`TFE_OPERATIONAL_MODE is ${JSON.stringify(mode)}: must be one of ${OPERATIONAL_MODES.join(', ')}`);
    return out;
  }
  need('TFE_HOSTNAME', '');
  need('TFE_ENCRYPTION_PASSWORD', '');
  if (!has('TFE_LICENSE') && !has('TFE_LICENSE_PATH')) out.push('TFE_LICENSE or TFE_LICENSE_PATH is required');
  else if (!has('TFE_LICENSE') && !fileExists(env.TFE_LICENSE_PATH!)) out.push(`TFE_LICENSE_PATH ${env.TFE_LICENSE_PATH} does not exist in the container`);
  for (const k of ['TFE_TLS_CERT_FILE', 'TFE_TLS_KEY_FILE']) {
    need(k, '');
    if (has(k) && !fileExists(env[k]!)) out.push(`${k} ${env[k]} does not exist in the container`);
  }
  if (has('TFE_TLS_CA_BUNDLE_FILE') && !fileExists(env.TFE_TLS_CA_BUNDLE_FILE!)) {
    out.push(`TFE_TLS_CA_BUNDLE_FILE ${env.TFE_TLS_CA_BUNDLE_FILE} does not exist in the container`);
  }
  if (mode === 'disk') {
    need('TFE_DISK_PATH', ' in disk operational mode');
    return out;
  }
  const inMode = ` in ${mode} operational mode`;
  for (const k of ['TFE_DATABASE_HOST', 'TFE_DATABASE_NAME', 'TFE_DATABASE_USER', 'TFE_DATABASE_PASSWORD']) need(k, inMode);
  const storage = env.TFE_OBJECT_STORAGE_TYPE;
  if (!has('TFE_OBJECT_STORAGE_TYPE')) out.push(`TFE_OBJECT_STORAGE_TYPE is required${inMode} (s3, azure or google)`);
  else if (storage === 's3') {
    need('TFE_OBJECT_STORAGE_S3_BUCKET', ' with s3 object storage');
    need('TFE_OBJECT_STORAGE_S3_REGION', ' with s3 object storage');
    if (!truthy(env.TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE) && (!has('TFE_OBJECT_STORAGE_S3_ACCESS_KEY_ID') || !has('TFE_OBJECT_STORAGE_S3_SECRET_ACCESS_KEY'))) {
      out.push('TFE_OBJECT_STORAGE_S3_ACCESS_KEY_ID and TFE_OBJECT_STORAGE_S3_SECRET_ACCESS_KEY are required unless TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE is true');
    }
  } else if (storage !== 'azure' && storage !== 'google') {
    out.push(`TFE_OBJECT_STORAGE_TYPE is ${JSON.stringify(storage)}: must be s3, azure or google`);
  }
  if (mode === 'active-active') {
    need('TFE_REDIS_HOST', inMode);
    for (const k of ['TFE_REDIS_USE_AUTH', 'TFE_REDIS_USE_TLS']) if (!isBool(env[k])) out.push(`${k} is ${JSON.stringify(env[k])}, not true or false`);
    if (truthy(env.TFE_REDIS_USE_AUTH)) need('TFE_REDIS_PASSWORD', ' when TFE_REDIS_USE_AUTH is true');
    need('TFE_VAULT_CLUSTER_ADDRESS', inMode);
    if (has('TFE_VAULT_CLUSTER_ADDRESS') && !/^https?:\/\/[^/:]+:\d+\/?$/.test(env.TFE_VAULT_CLUSTER_ADDRESS!)) {
      out.push(`TFE_VAULT_CLUSTER_ADDRESS is ${JSON.stringify(env.TFE_VAULT_CLUSTER_ADDRESS)}: expected https://<this node's private IP>:8201`);
    }
  }
  return out;
}

/** TFE_REDIS_HOST is host[:port] (6379 when no port is given). */
export function fdoRedis(env: FdoEnv): { host: string; port: number; tls: boolean; password?: string } {
  const [host, port] = env.TFE_REDIS_HOST!.split(/:(?=\d+$)/);
  return {
    host: host!,
    port: port ? Number(port) : 6379,
    tls: truthy(env.TFE_REDIS_USE_TLS),
    ...(truthy(env.TFE_REDIS_USE_AUTH) ? { password: env.TFE_REDIS_PASSWORD } : {}),
  };
}

/** FDO's secret variables: never shown. */
export const FDO_SECRET = /PASSWORD|LICENSE$|SECRET|TOKEN/;
