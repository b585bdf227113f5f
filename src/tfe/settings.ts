// Base settings (the TfeCluster's settings ConfigMap: replicated.conf and
// ptfe-settings.json): parsing, the checks HashiCorp's Active/Active guide asks for, and
// rendering of the Active/Active settings. Pure: no I/O. Checks return typed problems
// (a code, the key, and a message that says how to fix it) so the planner can report them.

import { MIN_RELEASE_NAME, MIN_RELEASE_SEQUENCE } from '../api/schema.ts';

export type ReplicatedConf = Record<string, unknown>;
export type PtfeSettings = Record<string, { value: string }>;

export type SettingsFile = 'replicated.conf' | 'ptfe-settings.json' | 'spec';

export type ProblemCode =
  | 'InvalidJson'
  | 'NotAnObject'
  | 'SettingNotValueObject'
  | 'SettingValueNotString'
  | 'SettingExtraFields'
  | 'ReleaseSequenceMissing'
  | 'ReleaseSequenceNotInteger'
  | 'ReleaseSequenceTooLow'
  | 'ImportSettingsFromMissing'
  | 'LicenseFileLocationMissing'
  | 'HostnameMissing'
  | 'NotProductionInstall'
  | 'NotExternalServices'
  | 'PostgresSettingMissing'
  | 'ObjectStoragePlacementMissing'
  | 'ObjectStoragePlacementUnknown'
  | 'ObjectStorageSettingMissing'
  | 'SecretInPlainSettings'
  | 'SecretSettingConflict'
  | 'OperatorManagedSetting';

export interface SettingsProblem {
  code: ProblemCode;
  /** error: the migration cannot go on; warning: it can, but the user should know. */
  severity: 'error' | 'warning';
  file: SettingsFile;
  key?: string;
  /** Names the key and the fix. */
  message: string;
}

export type Parsed<T> = { ok: true; value: T; problems: SettingsProblem[] } | { ok: false; problems: SettingsProblem[] };

export { MIN_RELEASE_SEQUENCE };
export const SETTINGS_FILE_PATH = '/etc/ptfe-settings.json';

/** replicated.conf's admin console password: from spec.settings.daemonAuthenticationPasswordSecretRef only. */
export const DAEMON_PASSWORD = 'DaemonAuthenticationPassword';

/** Settings whose values are secrets: they must come from secretSettings, never the ConfigMap. */
export const SECRET_SETTING_KEYS: readonly string[] = [
  'enc_password',
  'pg_password',
  'redis_pass',
  'aws_secret_access_key',
  'azure_account_key',
  'gcs_credentials',
  'extern_vault_token',
  'extern_vault_secret_id',
];

/** Settings the operator writes for Active/Active; base values for them are replaced. */
export const ACTIVE_ACTIVE_KEYS: readonly string[] = [
  'enable_active_active',
  'redis_host',
  'redis_port',
  'redis_use_password_auth',
  'redis_use_tls',
  'redis_pass',
  'enc_password',
];

const problem = (
  code: ProblemCode,
  file: SettingsFile,
  message: string,
  key?: string,
  severity: 'error' | 'warning' = 'error',
): SettingsProblem => ({ code, severity, file, message, ...(key !== undefined ? { key } : {}) });

export function hasErrors(problems: readonly SettingsProblem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** One line per problem, for a condition message or a CLI. */
export function formatProblems(problems: readonly SettingsProblem[]): string {
  return problems.map((p) => `${p.severity === 'warning' ? 'warning: ' : ''}${p.file}: ${p.message}`).join('; ');
}

// ---------------------------------------------------------------------------------------
// Parsing

function parseJsonObject(text: string, file: SettingsFile): Parsed<Record<string, unknown>> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      problems: [problem('InvalidJson', file, `${file} is not valid JSON (${jsonErrorSummary(err as Error, text)}); fix the syntax in the settings ConfigMap`)],
    };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { ok: false, problems: [problem('NotAnObject', file, `${file} must be a JSON object ({ ... }), not ${describe(v)}`)] };
  }
  return { ok: true, value: v as Record<string, unknown>, problems: [] };
}

export function parseReplicatedConf(text: string): Parsed<ReplicatedConf> {
  return parseJsonObject(text, 'replicated.conf');
}

/** Every value must be `{ "value": "<string>" }`; each offending key is reported. */
export function parsePtfeSettings(text: string): Parsed<PtfeSettings> {
  const file = 'ptfe-settings.json';
  const obj = parseJsonObject(text, file);
  if (!obj.ok) return obj;
  const problems: SettingsProblem[] = [];
  const settings: PtfeSettings = {};
  for (const [key, v] of Object.entries(obj.value)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !('value' in v)) {
      problems.push(
        problem('SettingNotValueObject', file, `setting ${key} must be an object {"value": "<string>"}, found ${describe(v, looksSecret(key))}; write "${key}": {"value": ${suggest(String(v), looksSecret(key))}}`, key),
      );
      continue;
    }
    const { value, ...rest } = v as Record<string, unknown>;
    if (typeof value !== 'string') {
      problems.push(
        problem('SettingValueNotString', file, `setting ${key} has ${describe(value, looksSecret(key))} as its value; every value must be a string: write {"value": ${suggest(stringish(value), looksSecret(key))}}`, key),
      );
      continue;
    }
    const extra = Object.keys(rest);
    if (extra.length) {
      problems.push(
        problem('SettingExtraFields', file, `setting ${key} has fields other than "value" (${extra.join(', ')}); they are ignored and dropped`, key, 'warning'),
      );
    }
    settings[key] = { value };
  }
  return hasErrors(problems) ? { ok: false, problems } : { ok: true, value: settings, problems };
}

/** Messages end up in status, Events and logs: the value of a secret-looking key is never quoted. */
function describe(v: unknown, hideValue = false): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object without "value"';
  return hideValue ? `a ${typeof v}` : `a ${typeof v} (${JSON.stringify(v)})`;
}

function suggest(v: string, hideValue: boolean): string {
  return hideValue ? '"<the value, as a string>"' : JSON.stringify(v);
}

/** A setting whose value may be a secret (the known secret keys, and names that say so). */
function looksSecret(key: string): boolean {
  return SECRET_SETTING_KEYS.includes(key) || /pass|secret|token|credential|private|(^|_)key$/i.test(key);
}

/**
 * JSON.parse's message without the copy of the input V8 puts in some of them
 * (`Unexpected token 'h', "...hunter2..." is not valid JSON`): the text may hold a secret.
 * Positions become line and column.
 */
export function jsonErrorSummary(err: Error, text: string): string {
  let m = err.message ?? String(err);
  // `Unexpected token 'x', "<input>" is not valid JSON` (the input may be cut with "..."): keep the token only.
  if (/is not valid JSON\s*$/.test(m)) m = /^Unexpected token '[^']*'/.exec(m)?.[0] ?? 'not valid JSON';
  const pos = /\s*(?:in JSON )?at position (\d+)(?: \(line \d+ column \d+\))?/.exec(m);
  if (pos) {
    const before = text.slice(0, Number(pos[1]));
    const line = before.split('\n').length;
    const column = Number(pos[1]) - before.lastIndexOf('\n');
    m = `${m.slice(0, pos.index)} at line ${line} column ${column}`;
  }
  return m;
}

function stringish(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// ---------------------------------------------------------------------------------------
// Checks

/**
 * ReleaseSequence: an integer >= MIN_RELEASE_SEQUENCE. `wanted` is the TfeCluster's spec.release.sequence
 * (the operator pins that one); the base file's own value must then still be well formed.
 */
export function checkReleaseSequence(conf: ReplicatedConf, wanted?: number): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  const f = 'replicated.conf';
  const base = conf.ReleaseSequence;
  if (wanted !== undefined) {
    if (!Number.isInteger(wanted)) {
      out.push(problem('ReleaseSequenceNotInteger', 'spec', `spec.release.sequence must be an integer, found ${JSON.stringify(wanted)}`, 'ReleaseSequence'));
    } else if (wanted < MIN_RELEASE_SEQUENCE) {
      out.push(
        problem('ReleaseSequenceTooLow', 'spec', `spec.release.sequence ${wanted} is below ${MIN_RELEASE_SEQUENCE} (${MIN_RELEASE_NAME}, the first release whose Active/Active nodes need no shared install tokens); set it to ${MIN_RELEASE_SEQUENCE} or later`, 'ReleaseSequence'),
      );
    }
  }
  if (base === undefined) {
    if (wanted === undefined) {
      out.push(problem('ReleaseSequenceMissing', f, `ReleaseSequence is not set; pin the release with "ReleaseSequence": ${MIN_RELEASE_SEQUENCE} (an integer, ${MIN_RELEASE_NAME} or later)`, 'ReleaseSequence'));
    }
    return out;
  }
  if (typeof base !== 'number' || !Number.isInteger(base)) {
    const hint = typeof base === 'string' && /^\d+$/.test(base) ? `write "ReleaseSequence": ${base} without quotes` : `write e.g. "ReleaseSequence": ${MIN_RELEASE_SEQUENCE}`;
    out.push(problem('ReleaseSequenceNotInteger', f, `ReleaseSequence must be an integer, found ${JSON.stringify(base)}; ${hint}`, 'ReleaseSequence'));
  } else if (base < MIN_RELEASE_SEQUENCE && wanted === undefined) {
    out.push(
      problem('ReleaseSequenceTooLow', f, `ReleaseSequence ${base} is below ${MIN_RELEASE_SEQUENCE} (${MIN_RELEASE_NAME}, the first release whose Active/Active nodes need no shared install tokens); set it to ${MIN_RELEASE_SEQUENCE} or later`, 'ReleaseSequence'),
    );
  }
  return out;
}

/** What an unattended install needs from replicated.conf besides the release pin. */
export function checkReplicatedConf(conf: ReplicatedConf): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  const f = 'replicated.conf';
  if (typeof conf.ImportSettingsFrom !== 'string' || conf.ImportSettingsFrom === '') {
    out.push(
      problem('ImportSettingsFromMissing', f, `ImportSettingsFrom is not set, so the installer would wait for the admin console instead of reading the settings; add "ImportSettingsFrom": "${SETTINGS_FILE_PATH}"`, 'ImportSettingsFrom'),
    );
  } else if (conf.ImportSettingsFrom !== SETTINGS_FILE_PATH) {
    out.push(
      problem('ImportSettingsFromMissing', f, `ImportSettingsFrom is ${JSON.stringify(conf.ImportSettingsFrom)} but the node writes its settings to ${SETTINGS_FILE_PATH}; set "ImportSettingsFrom": "${SETTINGS_FILE_PATH}"`, 'ImportSettingsFrom'),
    );
  }
  if (typeof conf.LicenseFileLocation !== 'string' || conf.LicenseFileLocation === '') {
    out.push(
      problem('LicenseFileLocationMissing', f, 'LicenseFileLocation is not set, so the installer cannot find the license; add "LicenseFileLocation": "/etc/tfe-license.rli"', 'LicenseFileLocation'),
    );
  }
  if (conf[DAEMON_PASSWORD] !== undefined) {
    out.push(
      problem(
        'SecretInPlainSettings',
        f,
        `${DAEMON_PASSWORD} is a secret but is set in the ConfigMap, so it would end up in the launch template user data; remove it (the admin console is disabled for Active/Active anyway, "DaemonAuthenticationType": "anonymous") or move it to a Kubernetes Secret and set spec.settings.daemonAuthenticationPasswordSecretRef`,
        DAEMON_PASSWORD,
      ),
    );
  }
  return out;
}

const has = (settings: PtfeSettings, secretKeys: ReadonlySet<string>, key: string): boolean =>
  secretKeys.has(key) || (settings[key] !== undefined && settings[key].value.trim() !== '');

/**
 * External Services mode: production_type "external", PostgreSQL (pg_user, pg_password,
 * pg_netloc, pg_dbname) and object storage (placement and its keys). `secretKeys` are the
 * settings that come from secretSettings (they count as present).
 */
export function checkExternalServices(settings: PtfeSettings, secretKeys: Iterable<string> = []): SettingsProblem[] {
  const secret = new Set(secretKeys);
  const f = 'ptfe-settings.json';
  const out: SettingsProblem[] = [];
  const value = (k: string) => settings[k]?.value;

  if (!has(settings, secret, 'hostname')) {
    out.push(problem('HostnameMissing', f, 'hostname is not set; set "hostname": {"value": "<the load balancer DNS name users reach TFE at>"}', 'hostname'));
  }
  const installation = value('installation_type');
  if (installation !== undefined && installation !== 'production') {
    out.push(
      problem('NotProductionInstall', f, `installation_type is "${installation}"; Active/Active needs a production install: set "installation_type": {"value": "production"}`, 'installation_type'),
    );
  }
  const production = value('production_type');
  if (production !== 'external') {
    const found = production === undefined ? 'is not set' : `is "${production}"`;
    out.push(
      problem('NotExternalServices', f, `production_type ${found}; Active/Active needs External Services mode (external PostgreSQL and object storage): set "production_type": {"value": "external"} and the pg_* and object storage settings`, 'production_type'),
    );
  }
  for (const key of ['pg_user', 'pg_password', 'pg_netloc', 'pg_dbname']) {
    if (!has(settings, secret, key)) {
      const how = key === 'pg_password' ? 'add it to spec.settings.secretSettings (it is a secret)' : `set "${key}": {"value": "..."}`;
      out.push(problem('PostgresSettingMissing', f, `${key} is not set; External Services mode needs the PostgreSQL connection: ${how}`, key));
    }
  }
  out.push(...checkObjectStorage(settings, secret));
  return out;
}

const PLACEMENTS: Record<string, { required: string[]; secret: string[]; alternatives?: string[][] }> = {
  placement_s3: { required: ['s3_bucket', 's3_region'], secret: [] },
  placement_azure: { required: ['azure_account_name', 'azure_container', 'azure_account_key'], secret: ['azure_account_key'] },
  placement_gcs: { required: ['gcs_bucket', 'gcs_project', 'gcs_credentials'], secret: ['gcs_credentials'] },
};

function checkObjectStorage(settings: PtfeSettings, secret: ReadonlySet<string>): SettingsProblem[] {
  const f = 'ptfe-settings.json';
  const placement = settings.placement?.value;
  if (placement === undefined || placement === '') {
    return [
      problem('ObjectStoragePlacementMissing', f, 'placement is not set; External Services mode needs object storage: set "placement": {"value": "placement_s3"} (or placement_azure, placement_gcs) with its bucket settings', 'placement'),
    ];
  }
  const spec = PLACEMENTS[placement];
  if (!spec) {
    return [
      problem('ObjectStoragePlacementUnknown', f, `placement "${placement}" is not one of ${Object.keys(PLACEMENTS).join(', ')}; set the object storage placement TFE should use`, 'placement'),
    ];
  }
  const out: SettingsProblem[] = [];
  for (const key of spec.required) {
    if (!has(settings, secret, key)) {
      const how = spec.secret.includes(key) ? 'add it to spec.settings.secretSettings (it is a secret)' : `set "${key}": {"value": "..."}`;
      out.push(problem('ObjectStorageSettingMissing', f, `${key} is not set; ${placement} needs it: ${how}`, key));
    }
  }
  if (placement === 'placement_s3') {
    const profile = settings.aws_instance_profile?.value === '1';
    const keys = has(settings, secret, 'aws_access_key_id') && has(settings, secret, 'aws_secret_access_key');
    if (!profile && !keys) {
      out.push(
        problem('ObjectStorageSettingMissing', f, 'S3 credentials are not set; set "aws_instance_profile": {"value": "1"} to use the instance profile (recommended), or aws_access_key_id plus aws_secret_access_key in spec.settings.secretSettings', 'aws_instance_profile'),
      );
    }
  }
  return out;
}

/**
 * Secret values never go in the ConfigMap (and so never into user data): each secret
 * setting must come from secretSettings, and no key may be in both places.
 */
export function checkSecretPlacement(settings: PtfeSettings, secretKeys: Iterable<string> = []): SettingsProblem[] {
  const secret = new Set(secretKeys);
  const f = 'ptfe-settings.json';
  const out: SettingsProblem[] = [];
  for (const key of Object.keys(settings)) {
    if (key === 'enc_password' || key === 'redis_pass') {
      const source = key === 'enc_password' ? 'spec.encryptionPasswordSecretRef' : 'the Redis settings in spec.redis';
      out.push(problem('SecretInPlainSettings', f, `${key} is set in the ConfigMap; remove it: the operator sets it from ${source}, and a secret must not be in user data`, key));
    } else if (secret.has(key)) {
      out.push(problem('SecretSettingConflict', f, `${key} is set in the ConfigMap and in spec.settings.secretSettings; remove it from the ConfigMap`, key));
    } else if (SECRET_SETTING_KEYS.includes(key)) {
      out.push(
        problem('SecretInPlainSettings', f, `${key} is a secret but is set in the ConfigMap, so it would end up in the launch template user data; move it to a Kubernetes Secret and list it in spec.settings.secretSettings`, key),
      );
    }
  }
  for (const key of secret) {
    if (key === 'enc_password' || key === 'redis_pass') {
      const source = key === 'enc_password' ? 'spec.encryptionPasswordSecretRef' : 'spec.redis';
      out.push(problem('SecretSettingConflict', 'spec', `${key} is listed in spec.settings.secretSettings; remove it there, the operator sets it from ${source}`, key));
    }
  }
  for (const key of ACTIVE_ACTIVE_KEYS) {
    if (settings[key] !== undefined && key !== 'enc_password' && key !== 'redis_pass') {
      out.push(problem('OperatorManagedSetting', f, `${key} is set in the ConfigMap; the operator manages it for Active/Active and replaces the value`, key, 'warning'));
    }
  }
  return out;
}

export interface BaseSettingsInput {
  replicatedConf: ReplicatedConf;
  settings: PtfeSettings;
  /** Setting keys listed in spec.settings.secretSettings. */
  secretSettingKeys?: readonly string[];
  /** spec.release.sequence */
  releaseSequence?: number;
}

/** Every check on the base settings, in a stable order. */
export function validateBaseSettings(input: BaseSettingsInput): SettingsProblem[] {
  const secret = input.secretSettingKeys ?? [];
  return [
    ...checkReleaseSequence(input.replicatedConf, input.releaseSequence),
    ...checkReplicatedConf(input.replicatedConf),
    ...checkExternalServices(input.settings, secret),
    ...checkSecretPlacement(input.settings, secret),
  ];
}

/** Parses both files and runs every check: one call for the planner. */
export function loadBaseSettings(
  replicatedConfText: string,
  settingsText: string,
  opts: { secretSettingKeys?: readonly string[]; releaseSequence?: number } = {},
): { ok: true; replicatedConf: ReplicatedConf; settings: PtfeSettings; problems: SettingsProblem[] } | { ok: false; problems: SettingsProblem[] } {
  const conf = parseReplicatedConf(replicatedConfText);
  const settings = parsePtfeSettings(settingsText);
  const problems = [...conf.problems, ...settings.problems];
  if (!conf.ok || !settings.ok) return { ok: false, problems };
  problems.push(...validateBaseSettings({ replicatedConf: conf.value, settings: settings.value, ...opts }));
  return hasErrors(problems) ? { ok: false, problems } : { ok: true, replicatedConf: conf.value, settings: settings.value, problems };
}

// ---------------------------------------------------------------------------------------
// Rendering

export interface RedisConnection {
  host: string;
  port: number;
  useTls: boolean;
  usePassword: boolean;
}

export interface ActiveActiveInput {
  replicatedConf: ReplicatedConf;
  settings: PtfeSettings;
  releaseSequence: number;
  redis: RedisConnection;
  /** Secrets Manager secret id holding enc_password. */
  encPasswordSecretId: string;
  /** Secrets Manager secret id holding the Redis password; required when redis.usePassword. */
  redisPasswordSecretId?: string;
}

export interface ActiveActiveSettings {
  replicatedConf: ReplicatedConf;
  settings: PtfeSettings;
  /** enc_password and (with a password) redis_pass; merge with the base secret settings. */
  secretSettings: Record<string, string>;
}

/**
 * The base settings turned Active/Active: ReleaseSequence pinned, enable_active_active "1",
 * the redis_* settings (every value a string), and enc_password / redis_pass as secret
 * settings. Base values for those keys are replaced; the inputs are not modified.
 * Throws only on caller errors (validate the base settings first).
 */
export function renderActiveActive(input: ActiveActiveInput): ActiveActiveSettings {
  const { redis } = input;
  if (!Number.isInteger(input.releaseSequence) || input.releaseSequence < MIN_RELEASE_SEQUENCE) {
    throw new RangeError(`renderActiveActive: releaseSequence must be an integer >= ${MIN_RELEASE_SEQUENCE}, got ${input.releaseSequence}`);
  }
  if (!redis.host) throw new TypeError('renderActiveActive: redis.host is required');
  if (!Number.isInteger(redis.port) || redis.port < 1 || redis.port > 65535) {
    throw new RangeError(`renderActiveActive: redis.port must be 1..65535, got ${redis.port}`);
  }
  if (!input.encPasswordSecretId) throw new TypeError('renderActiveActive: encPasswordSecretId is required');
  if (redis.usePassword && !input.redisPasswordSecretId) {
    throw new TypeError('renderActiveActive: redis.usePassword needs redisPasswordSecretId');
  }

  const settings: PtfeSettings = {};
  for (const [k, v] of Object.entries(input.settings)) {
    if (k === 'redis_pass' || k === 'enc_password') continue; // secrets: never plain
    settings[k] = { value: v.value };
  }
  settings.enable_active_active = { value: '1' };
  settings.redis_host = { value: redis.host };
  settings.redis_port = { value: String(redis.port) };
  settings.redis_use_password_auth = { value: redis.usePassword ? '1' : '0' };
  settings.redis_use_tls = { value: redis.useTls ? '1' : '0' };

  const secretSettings: Record<string, string> = { enc_password: input.encPasswordSecretId };
  if (redis.usePassword) secretSettings.redis_pass = input.redisPasswordSecretId!;

  return {
    replicatedConf: { ...structuredClone(input.replicatedConf), ReleaseSequence: input.releaseSequence },
    settings,
    secretSettings,
  };
}
