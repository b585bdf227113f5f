// What the launch template should say at each stage of the migration: pure rendering of
// the spec and the base settings into NodeInstall values, and their stable content ids.

import { createHash, createHmac } from 'node:crypto';
import { DAEMON_PASSWORD, renderActiveActive } from '../tfe/settings.ts';
import type { NodeFile, NodeInstall } from '../tfe/userdata.ts';
import type { AnyInstall } from '../install/kind.ts';

export const DISABLE_UI = 'disable-replicated-ui';
/** What a node does with each secret the operator stores for it. */
export const NODE_SECRET_ACTION = 'secretsmanager:GetSecretValue';

/** Secrets Manager names the operator owns for one TfeCluster. */
export function secretName(namespace: string, name: string, purpose: string): string {
  return `tfe-operator/${namespace}/${name}/${purpose}`;
}

/**
 * Every Secrets Manager secret a TfeCluster's spec has the operator store (ensureSecrets in the
 * planner puts them): what observe reads back and what deletionPolicy Delete removes.
 */
export function operatorSecretNames(
  spec: { settings: { secretSettings?: Array<{ setting: string }>; daemonAuthenticationPasswordSecretRef?: unknown }; node?: { files?: Array<{ path: string }> } },
  namespace: string,
  name: string,
): string[] {
  return [
    ...['enc_password', 'license', 'redis_pass', ...(spec.settings.secretSettings ?? []).map((s) => `setting-${s.setting}`)].map((p) => secretName(namespace, name, p)),
    ...(spec.settings.daemonAuthenticationPasswordSecretRef ? [secretName(namespace, name, `replicated-${DAEMON_PASSWORD}`)] : []),
    ...(spec.node?.files ?? []).map((f) => fileSecretName(namespace, name, f.path)),
  ];
}

/** The secret holding a node file: the path is part of the name (Secrets Manager allows / _ . -). */
export function fileSecretName(namespace: string, name: string, path: string): string {
  return secretName(namespace, name, `file${path}`);
}

export interface TargetInputs {
  namespace: string;
  name: string;
  baseReplicatedConf: Record<string, unknown>;
  baseSettings: Record<string, { value: string }>;
  /** install.sh arguments: spec.node.installArgs, else the baseline install's (kept as they were). */
  installArgs: string[];
  /** spec.node.files: path and mode; each is stored as its own secret. */
  files?: Array<{ path: string; mode: string }>;
  /** spec.node.preInstallScriptRef's text. */
  preInstallScript?: string;
  /** spec.node.installerSha256. */
  installerSha256?: string;
  /** replicated.conf keys whose values come from Secrets Manager (DaemonAuthenticationPassword). */
  secretReplicatedConfKeys?: string[];
  secretSettingKeys: string[];
  releaseSequence: number;
  redis: { host: string; port: number; useTls: boolean; usePassword: boolean };
}

export interface Target {
  stage: 'single' | 'full';
  install: AnyInstall;
  hash: string;
  description: string;
}

export function renderTargets(t: TargetInputs): { single: Target; full: Target } {
  const secretSettings: Record<string, string> = {};
  for (const key of t.secretSettingKeys) secretSettings[key] = secretName(t.namespace, t.name, `setting-${key}`);
  const rendered = renderActiveActive({
    replicatedConf: t.baseReplicatedConf,
    settings: t.baseSettings,
    releaseSequence: t.releaseSequence,
    redis: t.redis,
    encPasswordSecretId: secretName(t.namespace, t.name, 'enc_password'),
    redisPasswordSecretId: t.redis.usePassword ? secretName(t.namespace, t.name, 'redis_pass') : undefined,
  });
  const base = {
    replicatedConf: rendered.replicatedConf,
    settings: rendered.settings,
    secretSettings: { ...secretSettings, ...rendered.secretSettings },
    licenseSecretId: secretName(t.namespace, t.name, 'license'),
    files: (t.files ?? []).map((f): NodeFile => ({ path: f.path, mode: f.mode, secretId: fileSecretName(t.namespace, t.name, f.path) })),
    ...(t.preInstallScript === undefined ? {} : { preInstallScript: t.preInstallScript.endsWith('\n') ? t.preInstallScript : `${t.preInstallScript}\n` }),
    ...(t.installerSha256 === undefined ? {} : { installerSha256: t.installerSha256 }),
    ...(t.secretReplicatedConfKeys?.length
      ? { secretReplicatedConf: Object.fromEntries(t.secretReplicatedConfKeys.map((k) => [k, secretName(t.namespace, t.name, `replicated-${k}`)])) }
      : {}),
  };
  const singleArgs = t.installArgs.filter((a) => a !== DISABLE_UI);
  const single = target('single', { ...base, installArgs: singleArgs });
  const full = target('full', { ...base, installArgs: [...singleArgs, DISABLE_UI] });
  return { single, full };
}

function target(stage: Target['stage'], install: NodeInstall): Target {
  const hash = contentHash(install);
  const label = stage === 'single' ? 'single node on Redis' : 'active/active';
  return { stage, install, hash, description: `tfe-operator ${label} ${hash}` };
}

/** sha256 over a canonical JSON form (sorted keys), first 12 hex digits. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether a parsed install runs as an Active/Active node with the Replicated UI off. */
export function isActiveActive(install: NodeInstall | undefined): boolean {
  return install?.settings.enable_active_active?.value === '1' && install.installArgs.includes(DISABLE_UI);
}

/**
 * Fingerprint of a secret value, safe to show and store: HMAC-SHA256 keyed with the operator's
 * own key (src/security/fingerprint-key.ts, a Secret no TfeCluster author can read), so a
 * fingerprint in status or a tag cannot be used to guess a human-chosen password offline.
 * `salt` keeps fingerprints of one value apart per use (TfeCluster uid, ASG, secret name).
 */
export function fingerprint(value: string | Uint8Array, salt: string, key: Uint8Array): string {
  // Text and its UTF-8 bytes give the same fingerprint.
  return `${HMAC_PREFIX}${createHmac('sha256', key).update(`${salt}\0`).update(value).digest('hex').slice(0, 32)}`;
}

export const HMAC_PREFIX = 'hmac-sha256:';
export const LEGACY_PREFIX = 'sha256:';

/** The salted SHA-256 of operators before the HMAC (read only: to accept and upgrade what they wrote). */
export function legacyFingerprint(value: string | Uint8Array, salt: string): string {
  return `${LEGACY_PREFIX}${createHash('sha256').update(`${salt}\0`).update(value).digest('hex').slice(0, 32)}`;
}

/**
 * Whether a stored fingerprint is `value`'s: 'current' (the HMAC), 'legacy' (an older operator's
 * salted SHA-256, to be rewritten as the HMAC), or false.
 */
export function fingerprintMatches(stored: string | undefined, value: string | Uint8Array, salt: string, key: Uint8Array): 'current' | 'legacy' | false {
  if (!stored) return false;
  if (stored.startsWith(HMAC_PREFIX)) return stored === fingerprint(value, salt, key) ? 'current' : false;
  if (stored.startsWith(LEGACY_PREFIX)) return stored === legacyFingerprint(value, salt) ? 'legacy' : false;
  return false;
}

/** The salt of the enc_password fingerprint kept as an ASG tag (encPasswordTagFingerprint). */
export const encPasswordTagSalt = (asgName: string) => `asg:${asgName}`;

/**
 * The enc_password fingerprint kept as an ASG tag: salted with the group's name rather than the
 * TfeCluster's uid, so that a re-created TfeCluster computes the same one.
 */
export function encPasswordTagFingerprint(value: string, asgName: string, key: Uint8Array): string {
  return fingerprint(value, encPasswordTagSalt(asgName), key);
}

/**
 * Whether a secret the operator found is this TfeCluster's: its owner tag names it and, when the
 * secret carries one, its cluster-id tag names this Kubernetes cluster. Checked before any Put
 * or Delete. (An older operator's secret has no cluster-id tag yet: it gets one with the next put.)
 */
export function secretOwnedBy(s: { owner?: string; clusterId?: string }, owner: string, clusterId: string | undefined): boolean {
  return s.owner === owner && (s.clusterId === undefined || clusterId === undefined || s.clusterId === clusterId);
}
