// The TFE_* variables of an FDO install written from a Replicated install's settings, for the
// move from Replicated to Docker (docs/fdo.md, "Replicated setting -> FDO variable"): what a
// person puts in the settings ConfigMap's tfe.env, and which secret settings become which
// variables. A starting point to review, printed by `tfe-operator fdo-env`; the operator never
// applies it by itself.

import { TLS_CONTAINER_DIR, TLS_HOST_DIR } from './docker-userdata.ts';

/** Replicated setting -> FDO variable, where the value carries over as it is. */
const SAME_VALUE: Readonly<Record<string, string>> = {
  hostname: 'TFE_HOSTNAME',
  pg_netloc: 'TFE_DATABASE_HOST',
  pg_dbname: 'TFE_DATABASE_NAME',
  pg_user: 'TFE_DATABASE_USER',
  pg_extra_params: 'TFE_DATABASE_PARAMETERS',
  pg_password: 'TFE_DATABASE_PASSWORD',
  s3_bucket: 'TFE_OBJECT_STORAGE_S3_BUCKET',
  s3_region: 'TFE_OBJECT_STORAGE_S3_REGION',
  s3_endpoint: 'TFE_OBJECT_STORAGE_S3_ENDPOINT',
  aws_access_key_id: 'TFE_OBJECT_STORAGE_S3_ACCESS_KEY_ID',
  aws_secret_access_key: 'TFE_OBJECT_STORAGE_S3_SECRET_ACCESS_KEY',
  s3_sse: 'TFE_OBJECT_STORAGE_S3_SERVER_SIDE_ENCRYPTION',
  s3_sse_kms_key_id: 'TFE_OBJECT_STORAGE_S3_SERVER_SIDE_ENCRYPTION_KMS_KEY_ID',
  capacity_concurrency: 'TFE_CAPACITY_CONCURRENCY',
  iact_subnet_list: 'TFE_IACT_SUBNETS',
  iact_subnet_time_limit: 'TFE_IACT_TIME_LIMIT',
};

/** Settings whose values are secrets: never printed, even when someone left one in the ConfigMap. */
const SECRET_SETTINGS = new Set(['pg_password', 'aws_secret_access_key', 'enc_password', 'redis_pass']);

/** Settings the operator renders for Active/Active, or that FDO has no variable for. */
const NOT_CARRIED: Readonly<Record<string, string>> = {
  enc_password: 'spec.encryptionPasswordSecretRef (TFE_ENCRYPTION_PASSWORD, the same value)',
  enable_active_active: 'the operator sets TFE_OPERATIONAL_MODE',
  redis_host: 'spec.redis', redis_port: 'spec.redis', redis_pass: 'spec.redis', redis_use_tls: 'spec.redis', redis_use_password_auth: 'spec.redis',
  installation_type: 'Replicated only', production_type: 'the operator sets TFE_OPERATIONAL_MODE', placement: 'TFE_OBJECT_STORAGE_TYPE',
  aws_instance_profile: 'TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE',
};

export interface FdoEnvDraft {
  /** The tfe.env text: plain variables only. */
  env: string;
  /** secretSettings of the Replicated spec, renamed: setting -> FDO variable. */
  secretSettings: Array<{ from: string; to: string }>;
  /** Settings with no FDO variable here, and why. */
  notCarried: Array<{ setting: string; why: string }>;
}

/**
 * `settings`: ptfe-settings.json's values (without secrets); `secretSettingKeys`: the Replicated
 * spec's secretSettings; `conf`: replicated.conf (for the TLS files).
 */
export function fdoEnvFromReplicated(settings: Record<string, { value: string }>, secretSettingKeys: readonly string[], conf: Record<string, unknown>): FdoEnvDraft {
  const lines: string[] = [];
  const notCarried: FdoEnvDraft['notCarried'] = [];
  for (const [key, { value }] of Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (SECRET_SETTINGS.has(key)) notCarried.push({ setting: key, why: 'a secret in the ConfigMap: not printed; put it in a Secret and list it in spec.settings.secretSettings' });
    else if (SAME_VALUE[key]) lines.push(`${SAME_VALUE[key]}=${value}`);
    else if (!(key in NOT_CARRIED)) notCarried.push({ setting: key, why: 'no FDO variable in this table: look it up in the configuration reference' });
  }
  if (settings.placement?.value === 'placement_s3') lines.push('TFE_OBJECT_STORAGE_TYPE=s3');
  if (settings.aws_instance_profile?.value === '1') lines.push('TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE=true');
  if (settings.production_type?.value !== 'external') notCarried.push({ setting: 'production_type', why: 'Active/Active needs external services (PostgreSQL and object storage)' });
  // TLS: HashiCorp's layout; the files themselves go in spec.node.files under TLS_HOST_DIR.
  lines.push(`TFE_TLS_CERT_FILE=${TLS_CONTAINER_DIR}/cert.pem`, `TFE_TLS_KEY_FILE=${TLS_CONTAINER_DIR}/key.pem`);
  const secretSettings = secretSettingKeys.flatMap((k) => (SAME_VALUE[k] ? [{ from: k, to: SAME_VALUE[k]! }] : (notCarried.push({ setting: k, why: 'a secret setting FDO has no variable for (Replicated install tokens are not needed by FDO)' }), [])));
  const tls = conf.TlsBootstrapType === 'server-path' ? `replicated.conf's ${String(conf.TlsBootstrapCert)} and ${String(conf.TlsBootstrapKey)}` : 'your certificate and key for the TFE hostname';
  return {
    env: `${lines.sort().join('\n')}\n# The TLS files: ${tls}, in spec.node.files as ${TLS_HOST_DIR}/cert.pem and ${TLS_HOST_DIR}/key.pem.\n`,
    secretSettings,
    notCarried,
  };
}
