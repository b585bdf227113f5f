// Install kind Replicated: install.sh with /etc/replicated.conf and /etc/ptfe-settings.json
// (src/tfe/userdata.ts renders the script, src/tfe/settings.ts checks the settings). Out of
// HashiCorp's support since April 1, 2026; the operator still migrates and runs it, and moves
// it to Docker (./docker.ts) when spec.install changes.

import { LICENSE_PATHS, NODE_FILE_PATH, NODE_FILE_PREFIXES } from '../api/schema.ts';
import { DAEMON_PASSWORD, formatProblems, loadBaseSettings, parsePtfeSettings } from '../tfe/settings.ts';
import { DEFAULT_LICENSE_PATH, parseUserData, renderUserData, REPLICATED_CONF_PATH, SETTINGS_PATH, USER_DATA_MARKER, type NodeInstall } from '../tfe/userdata.ts';
import { isActiveActive, renderTargets } from '../migration/targets.ts';
import { parseNetloc, parseExtraParams } from '../tfe/database.ts';
import { isDockerInstall, type AnyInstall, type InstallKind, type KindContext, type Prepared, type Refusal } from './kind.ts';

/** TFE's drain on a Replicated Active/Active node (HashiCorp's Active/Active admin commands; `tfe-admin` is an interactive alias, `replicated` the binary). */
export const REPLICATED_DRAIN_COMMAND = 'replicated admin node-drain';

const asReplicated = (i: AnyInstall): NodeInstall | undefined => (isDockerInstall(i) ? undefined : i);

export const replicated: InstallKind = {
  name: 'Replicated',
  owns: (i) => !isDockerInstall(i),
  render: (i) => renderUserData(asReplicated(i)!),
  recognises: (script) => script.includes(USER_DATA_MARKER.replace(/ v\d+$/, '')),
  parse: parseUserData,

  prepare(ctx: KindContext): Prepared | Refusal {
    const { spec, inputs } = ctx;
    // The CRD requires it (CEL); a spec from a file (tfe-operator plan -f) is checked here.
    if (spec.release.sequence === undefined) return { reason: 'InvalidRelease', message: 'spec.release.sequence is required with install Replicated (e.g. 811): the release the nodes install' };
    const secretSettingKeys = (spec.settings.secretSettings ?? []).map((s) => s.setting);
    const base = loadBaseSettings(inputs.replicatedConfText ?? '', inputs.settingsText ?? '', {
      secretSettingKeys,
      // The spec pins the release the operator installs: an older running install is upgraded.
      releaseSequence: spec.release.sequence,
    });
    if (!base.ok) {
      const errors = base.problems.filter((p) => p.severity === 'error');
      return { reason: errors[0]?.code ?? 'InvalidSettings', message: formatProblems(errors) };
    }
    const conf = base.replicatedConf as Record<string, unknown>;
    return {
      release: { kind: 'Replicated', sequence: spec.release.sequence! },
      ...(typeof conf.ReleaseSequence === 'number' ? { baseRelease: { kind: 'Replicated' as const, sequence: conf.ReleaseSequence } } : {}),
      nodeFilesProblem: () => nodeFilesProblem(conf, new Set((spec.node?.files ?? []).map((f) => f.path))),
      targets: (redis, baseline) =>
        renderTargets({
          namespace: ctx.namespace,
          name: ctx.name,
          baseReplicatedConf: conf,
          baseSettings: base.settings,
          installArgs: spec.node?.installArgs ?? (baseline?.install && asReplicated(baseline.install)?.installArgs) ?? [],
          files: spec.node?.files ?? [],
          preInstallScript: inputs.preInstallScript,
          installerSha256: spec.node?.installerSha256,
          secretReplicatedConfKeys: spec.settings.daemonAuthenticationPasswordSecretRef ? [DAEMON_PASSWORD] : [],
          secretSettingKeys,
          releaseSequence: spec.release.sequence!,
          redis,
        }),
      fullStageCondition: (v) => ({ reason: 'Disabled', message: `launch template version ${v} passes disable-replicated-ui to install.sh`, rolling: `disabling the Replicated UI with launch template version ${v}` }),
    };
  },

  adoptionProblem(baseline, spec) {
    if ((baseline.install && !isDockerInstall(baseline.install)) || spec.node?.installArgs) return undefined;
    // An install the operator did not write (HashiCorp's modules, by hand): adopted from the
    // TfeCluster alone, but install.sh's arguments are not guessed from someone else's script.
    const seen = baseline.foreignInstallArgs ? ` (the script appears to run install.sh ${baseline.foreignInstallArgs})` : '';
    return {
      reason: 'InstallArgsRequired',
      message: `launch template version ${baseline.number} was not written by tfe-operator${seen}: to adopt it, set spec.node.installArgs to the install.sh arguments your nodes use (e.g. [no-proxy, "private-address=\${PRIVATE_IP}"]), and spec.node.files for the TLS files replicated.conf names; 'tfe-operator render' then shows the script the operator will write and how it differs`,
    };
  },

  settingsView(ctx) {
    const parsed = parsePtfeSettings(ctx.inputs.settingsText ?? '');
    if (!parsed.ok) return {};
    const setting = (k: string) => ctx.inputs.secrets.settings[k] ?? parsed.value[k]?.value;
    const netloc = parseNetloc(setting('pg_netloc') ?? '');
    const bucket = setting('placement') === 'placement_s3' ? setting('s3_bucket') : undefined;
    return {
      hostname: setting('hostname') || undefined,
      external: {
        where: `ptfe-settings.json (ConfigMap ${ctx.namespace}/${ctx.spec.settings.configMapRef.name})`,
        ...(bucket ? { bucket: { name: bucket, ...(setting('s3_region') ? { region: setting('s3_region') } : {}) } } : {}),
        ...(netloc
          ? {
              database: {
                ...netloc,
                user: setting('pg_user'),
                password: setting('pg_password'),
                database: setting('pg_dbname'),
                sslmode: parseExtraParams(setting('pg_extra_params')).sslmode ?? 'prefer',
              },
            }
          : {}),
        names: { bucket: 's3_bucket', region: 's3_region', dbHost: 'pg_netloc', dbUser: 'pg_user', dbName: 'pg_dbname', dbPassword: 'pg_password', dbParams: 'pg_extra_params' },
      },
    };
  },

  releaseOf(i) {
    const seq = asReplicated(i)?.replicatedConf.ReleaseSequence;
    return typeof seq === 'number' ? { kind: 'Replicated', sequence: seq } : undefined;
  },
  isActiveActive: (i) => isActiveActive(asReplicated(i)),
  // TFE's drain lives in the tfe-admin container, which only Active/Active mode runs (the single node on Redis has it too).
  drainCommand: (i) => (asReplicated(i)?.settings.enable_active_active?.value === '1' ? REPLICATED_DRAIN_COMMAND : undefined),
  encPasswordSecretId: (i) => asReplicated(i)?.secretSettings.enc_password,
};

/**
 * Files the node must have: the TLS certificate and key replicated.conf names with
 * server-path, none written over the files the operator writes itself.
 */
function nodeFilesProblem(conf: Record<string, unknown>, files: Set<string>): Refusal | undefined {
  if (conf.TlsBootstrapType === 'server-path') {
    const need = (['TlsBootstrapCert', 'TlsBootstrapKey'] as const).flatMap((k) => (typeof conf[k] === 'string' && !files.has(conf[k] as string) ? [`${k} ${conf[k] as string}`] : []));
    if (need.length > 0) {
      return {
        reason: 'TlsFilesMissing',
        message: `replicated.conf says TlsBootstrapType "server-path", but no entry of spec.node.files writes ${need.join(' or ')}: add them (path and the Secret key holding the PEM), or use TlsBootstrapType "self-signed"`,
      };
    }
  }
  const license = typeof conf.LicenseFileLocation === 'string' ? conf.LicenseFileLocation : DEFAULT_LICENSE_PATH;
  const allowed = (LICENSE_PATHS as readonly string[]).includes(license) || (new RegExp(NODE_FILE_PATH).test(license) && NODE_FILE_PREFIXES.some((p) => license.startsWith(p)));
  if (!allowed) {
    return {
      reason: 'NodeFilePathNotAllowed',
      message: `replicated.conf's LicenseFileLocation ${JSON.stringify(license)} is not a path the operator writes node files to: use ${LICENSE_PATHS.join(' or ')}, or a path under ${NODE_FILE_PREFIXES.join(', ')}, in the settings ConfigMap`,
    };
  }
  const clash = [REPLICATED_CONF_PATH, SETTINGS_PATH, license].filter((p) => files.has(p));
  if (clash.length > 0) {
    return { reason: 'NodeFileConflict', message: `spec.node.files writes ${clash.join(', ')}, which the operator writes itself (settings, replicated.conf, the license): remove it from spec.node.files` };
  }
  return undefined;
}
