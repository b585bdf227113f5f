// Install kind Docker: TFE's Flexible Deployment Options on EC2, the terraform-enterprise image
// run by docker compose (./docker-userdata.ts renders the script). Settings are the container's
// TFE_* variables: a ConfigMap key with the plain ones (NAME=value lines, spec.settings.envKey)
// and spec.settings.secretSettings for the secret ones; the operator adds the Active/Active ones
// (TFE_OPERATIONAL_MODE, TFE_REDIS_*, TFE_VAULT_CLUSTER_ADDRESS), TFE_ENCRYPTION_PASSWORD and
// TFE_LICENSE. Variable names and rules: HashiCorp's configuration reference (docs/fdo.md).

import { OPERATOR_OWNED_VARIABLES } from '../api/schema.ts';
import { contentHash, fileSecretName, secretName, type Target } from '../migration/targets.ts';
import { parseExtraParams, parseNetloc } from '../tfe/database.ts';
import { COMPOSE_PATH, CONTAINER, DOCKER_MARKER, hostPathOf, imageFor, TLS_CONTAINER_DIR, TLS_HOST_DIR, isActiveActiveMode, parseDockerUserData, renderDockerUserData, tagOf, type DockerInstall } from './docker-userdata.ts';
import { isDockerInstall, type AnyInstall, type InstallKind, type KindContext, type Prepared, type RedisTarget, type Refusal } from './kind.ts';
import { parseTag } from './releases.ts';

/** TFE's drain on an FDO node (the admin CLI inside the container, active-active mode only). */
export const DOCKER_DRAIN_COMMAND = `docker exec ${CONTAINER} tfectl node drain`;

const asDocker = (i: AnyInstall): DockerInstall | undefined => (isDockerInstall(i) ? i : undefined);

/** A secret's name suggests so: such a variable belongs in spec.settings.secretSettings. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|_KEY$/;

export interface EnvFile {
  vars: Record<string, string>;
  problems: string[];
}

/** NAME=value lines (blank lines and # comments allowed); the value is everything after the first "=", as is. */
export function parseEnvFile(text: string): EnvFile {
  const vars: Record<string, string> = {};
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) problems.push(`line ${i + 1} is not NAME=value`);
    else if (m[1]! in vars) problems.push(`line ${i + 1} sets ${m[1]} a second time`);
    else vars[m[1]!] = m[2]!;
  });
  return { vars, problems };
}

/** Why these license bytes are not an FDO license for TFE_LICENSE, or undefined. */
export function fdoLicenseProblem(license: Uint8Array | undefined): string | undefined {
  if (!license?.length) return 'is empty';
  const text = Buffer.from(license).toString('utf8');
  if (/[\uFFFD\x00-\x08\x0E-\x1F\x7F]/.test(text)) return 'is binary: a Replicated license file (.rli), which FDO does not take';
  if (/\s/.test(text)) return 'holds whitespace (a trailing newline?): TFE_LICENSE takes the license text alone';
  return undefined;
}

export const docker: InstallKind = {
  name: 'Docker',
  owns: isDockerInstall,
  render: (i) => renderDockerUserData(asDocker(i)!),
  recognises: (script) => script.includes(DOCKER_MARKER),
  parse: parseDockerUserData,

  prepare(ctx: KindContext): Prepared | Refusal {
    const { spec, inputs } = ctx;
    const where = `ConfigMap ${ctx.namespace}/${spec.settings.configMapRef.name} key ${spec.settings.envKey ?? 'tfe.env'}`;
    const env = parseEnvFile(inputs.envText ?? '');
    if (env.problems.length) return { reason: 'InvalidSettings', message: `${where}: ${env.problems.join('; ')}` };
    const secretKeys = (spec.settings.secretSettings ?? []).map((s) => s.setting);
    const secretLooking = Object.keys(env.vars).filter((k) => SECRET_NAME.test(k) || (k === 'TFE_LICENSE' && env.vars[k] !== ''));
    if (secretLooking.length) {
      return {
        reason: 'SecretInConfigMap',
        message: `${where} holds ${secretLooking.join(', ')}: a secret value would end up in the launch template. Move each to a Secret and list it in spec.settings.secretSettings (setting ${secretLooking[0]}, secretKeyRef)`,
      };
    }
    // What the operator renders for Active/Active replaces the install's own values (as a copy of
    // a running install's variables has them: TFE_OPERATIONAL_MODE=external, TFE_LICENSE_PATH).
    const vars = Object.fromEntries(Object.entries(env.vars).filter(([k]) => !(OPERATOR_OWNED_VARIABLES as readonly string[]).includes(k)));
    const both = secretKeys.filter((k) => k in vars);
    if (both.length) return { reason: 'InvalidSettings', message: `${both.join(', ')} is set in ${where} and in spec.settings.secretSettings: keep one` };
    const has = (k: string) => (vars[k] ?? '') !== '' || secretKeys.includes(k);
    if (has('TFE_DISK_PATH') || !has('TFE_DATABASE_HOST')) {
      return {
        reason: 'NotExternalServices',
        message: `${where} does not run TFE on external services (${has('TFE_DISK_PATH') ? 'TFE_DISK_PATH is set: disk mode' : 'no TFE_DATABASE_HOST'}); Active/Active needs PostgreSQL and object storage: set TFE_DATABASE_* and TFE_OBJECT_STORAGE_*, and remove TFE_DISK_PATH`,
      };
    }
    const required = ['TFE_HOSTNAME', 'TFE_DATABASE_HOST', 'TFE_DATABASE_NAME', 'TFE_DATABASE_USER', 'TFE_DATABASE_PASSWORD', 'TFE_OBJECT_STORAGE_TYPE', 'TFE_TLS_CERT_FILE', 'TFE_TLS_KEY_FILE'];
    if (vars.TFE_OBJECT_STORAGE_TYPE === 's3') required.push('TFE_OBJECT_STORAGE_S3_BUCKET', 'TFE_OBJECT_STORAGE_S3_REGION');
    const missing = required.filter((k) => !has(k));
    if (missing.length) {
      return {
        reason: 'SettingMissing',
        message: `${where} lacks ${missing.join(', ')} (TFE's configuration reference requires them for active-active): add ${missing.length > 1 ? 'them' : 'it'}${missing.includes('TFE_DATABASE_PASSWORD') ? '; TFE_DATABASE_PASSWORD through spec.settings.secretSettings' : ''}`,
      };
    }
    if (!['s3', 'azure', 'google'].includes(vars.TFE_OBJECT_STORAGE_TYPE ?? '')) {
      return { reason: 'InvalidSettings', message: `${where}: TFE_OBJECT_STORAGE_TYPE is ${JSON.stringify(vars.TFE_OBJECT_STORAGE_TYPE)}; use s3, azure or google` };
    }
    const license = fdoLicenseProblem(inputs.secrets.license);
    if (license) {
      const r = spec.settings.licenseSecretRef;
      return {
        reason: 'FdoLicenseInvalid',
        message: `the license in Secret ${ctx.namespace}/${r.name} key ${r.key} (spec.settings.licenseSecretRef) ${license}. Install Docker needs the FDO license text HashiCorp issues (a .hclic file, one line): put it in that Secret (kubectl create secret generic ${r.name} --from-literal=${r.key}="$(cat terraform.hclic)")`,
      };
    }
    const tag = spec.release.tag;
    if (tag === undefined) return { reason: 'InvalidRelease', message: 'spec.release.tag is required with install Docker (e.g. 1.2.2): the terraform-enterprise image tag the nodes run' };
    if (!parseTag(tag)) return { reason: 'InvalidRelease', message: `spec.release.tag ${JSON.stringify(tag)} is not a Terraform Enterprise image tag (vYYYYMM-N or 1.2.3)` };
    const files = spec.node?.files ?? [];
    const paths = new Set(files.map((f) => f.path));
    return {
      release: { kind: 'Docker', tag },
      nodeFilesProblem() {
        const tls = ['TFE_TLS_CERT_FILE', 'TFE_TLS_KEY_FILE', 'TFE_TLS_CA_BUNDLE_FILE'].filter((k) => vars[k] && !paths.has(hostPathOf(vars[k]!)));
        if (tls.length) {
          return {
            reason: 'TlsFilesMissing',
            message: `${tls.map((k) => `${k} ${vars[k]}`).join(', ')} in ${where}: no entry of spec.node.files writes ${tls.map((k) => hostPathOf(vars[k]!)).join(', ')}; add each (path and the Secret key holding the PEM). The node binds ${TLS_HOST_DIR} to ${TLS_CONTAINER_DIR} in the container (as HashiCorp's module does), and any other file at its own path`,
          };
        }
        if (paths.has(COMPOSE_PATH)) return { reason: 'NodeFileConflict', message: `spec.node.files writes ${COMPOSE_PATH}, the compose file the operator writes itself: remove it` };
        return undefined;
      },
      targets(redis: RedisTarget) {
        const sid = (purpose: string) => secretName(ctx.namespace, ctx.name, purpose);
        const install: DockerInstall = {
          runtime: 'docker',
          image: imageFor(tag),
          env: {
            ...vars,
            TFE_OPERATIONAL_MODE: 'active-active',
            TFE_REDIS_HOST: `${redis.host}:${redis.port}`,
            TFE_REDIS_USE_TLS: String(redis.useTls),
            TFE_REDIS_USE_AUTH: String(redis.usePassword),
          },
          secretEnv: {
            TFE_ENCRYPTION_PASSWORD: sid('enc_password'),
            TFE_LICENSE: sid('license'),
            ...(redis.usePassword ? { TFE_REDIS_PASSWORD: sid('redis_pass') } : {}),
            ...Object.fromEntries(secretKeys.map((k) => [k, sid(`setting-${k}`)])),
          },
          files: files.map((f) => ({ path: f.path, mode: f.mode, secretId: fileSecretName(ctx.namespace, ctx.name, f.path) })),
          ...(inputs.preInstallScript === undefined ? {} : { preInstallScript: inputs.preInstallScript.endsWith('\n') ? inputs.preInstallScript : `${inputs.preInstallScript}\n` }),
        };
        // HashiCorp's Docker procedure: one node on Redis, validate, then 0 -> N with the same
        // configuration. The two stages install the same thing; their versions differ by name.
        const hash = contentHash(install);
        const t = (stage: Target['stage'], label: string): Target => ({ stage, install, hash, description: `tfe-operator ${label} ${hash}` });
        return { single: t('single', 'docker single node on Redis'), full: t('full', 'docker active/active') };
      },
      fullStageCondition: (v) => ({ reason: 'NoReplicatedUI', message: 'FDO runs no Replicated admin console', rolling: `the single node passed: every node on launch template version ${v} (HashiCorp's Docker procedure: 0 -> N)` }),
    };
  },

  adoptionProblem: () => undefined,

  settingsView(ctx) {
    const env = parseEnvFile(ctx.inputs.envText ?? '');
    if (env.problems.length) return {};
    const v = (k: string) => ctx.inputs.secrets.settings[k] ?? env.vars[k];
    const host = v('TFE_DATABASE_HOST');
    const netloc = host ? parseNetloc(host.includes(':') ? host : `${host}:5432`) : undefined;
    const bucket = v('TFE_OBJECT_STORAGE_TYPE') === 's3' ? v('TFE_OBJECT_STORAGE_S3_BUCKET') : undefined;
    return {
      hostname: v('TFE_HOSTNAME') || undefined,
      external: {
        where: `ConfigMap ${ctx.namespace}/${ctx.spec.settings.configMapRef.name} key ${ctx.spec.settings.envKey ?? 'tfe.env'}`,
        ...(bucket ? { bucket: { name: bucket, ...(v('TFE_OBJECT_STORAGE_S3_REGION') ? { region: v('TFE_OBJECT_STORAGE_S3_REGION') } : {}) } } : {}),
        ...(netloc
          ? {
              database: {
                ...netloc,
                user: v('TFE_DATABASE_USER'),
                password: v('TFE_DATABASE_PASSWORD'),
                database: v('TFE_DATABASE_NAME'),
                sslmode: parseExtraParams(v('TFE_DATABASE_PARAMETERS')).sslmode ?? 'prefer',
              },
            }
          : {}),
        names: {
          bucket: 'TFE_OBJECT_STORAGE_S3_BUCKET',
          region: 'TFE_OBJECT_STORAGE_S3_REGION',
          dbHost: 'TFE_DATABASE_HOST',
          dbUser: 'TFE_DATABASE_USER',
          dbName: 'TFE_DATABASE_NAME',
          dbPassword: 'TFE_DATABASE_PASSWORD',
          dbParams: 'TFE_DATABASE_PARAMETERS',
        },
      },
    };
  },

  releaseOf: (i) => (asDocker(i) ? { kind: 'Docker', tag: tagOf(asDocker(i)!) } : undefined),
  isActiveActive: (i) => !!asDocker(i) && isActiveActiveMode(asDocker(i)!),
  drainCommand: (i) => (asDocker(i) && isActiveActiveMode(asDocker(i)!) ? DOCKER_DRAIN_COMMAND : undefined),
  encPasswordSecretId: (i) => asDocker(i)?.secretEnv.TFE_ENCRYPTION_PASSWORD,
};
