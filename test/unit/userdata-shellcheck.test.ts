// shellcheck (Debian's package) over the user data the operator writes into launch templates:
// the targets of the migration (src/migration/targets.ts renderTargets -> src/tfe/userdata.ts
// renderUserData, as the planner renders them) for the kinds of install the operator meets.
//
// Every check is on (-o all) at every severity but two, on purpose:
//   SC2250 require-variable-braces: a style preference ("$FILE" vs "${FILE}"), not a fault.
//   SC2310 check-set-e-suppressed: `answer="$(get_secret ...)" || fail "..."` turns off set -e
//          inside get_secret on purpose: the failure is handled right there, with a message.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { renderTargets, type TargetInputs } from '../../src/migration/targets.ts';
import { renderInstall } from '../../src/install/index.ts';
import { imageFor, type DockerInstall } from '../../src/install/docker-userdata.ts';

const EXCLUDED = ['SC2250', 'SC2310'];

interface Finding {
  line: number;
  level: string;
  code: number;
  message: string;
}

function shellcheckVersion(): string {
  try {
    return /version: (\S+)/.exec(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    throw new Error('shellcheck is not installed: apt-get install shellcheck (make test installs it when missing)');
  }
}

function shellcheck(script: string): Finding[] {
  const r = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '--enable=all', `--exclude=${EXCLUDED.join(',')}`, '--format=json1', '-'], {
    input: script,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { comments: Finding[] };
  return out.comments;
}

const show = (script: string, fs: Finding[]) =>
  fs.map((f) => `line ${f.line} SC${f.code} (${f.level}): ${f.message}\n    ${script.split('\n')[f.line - 1]}`).join('\n');

const base: TargetInputs = {
  namespace: 'tfe',
  name: 'tfe',
  baseReplicatedConf: {
    DaemonAuthenticationType: 'password',
    ImportSettingsFrom: '/etc/ptfe-settings.json',
    LicenseFileLocation: '/etc/tfe-license.rli',
    TlsBootstrapType: 'self-signed',
    ReleaseSequence: 528,
  },
  baseSettings: {
    hostname: { value: 'tfe.example.com' },
    production_type: { value: 'external' },
    pg_netloc: { value: 'db.example.com:5432' },
    s3_bucket: { value: 'tfe-data' },
  },
  installArgs: ['no-proxy'],
  secretSettingKeys: ['pg_password'],
  releaseSequence: 528,
  redis: { host: 'master.tfe-redis.abc123.use1.cache.amazonaws.com', port: 6379, useTls: true, usePassword: true },
};

const installs: Record<string, TargetInputs> = {
  'the sandbox default world (no install argument names ${PRIVATE_IP})': base,
  "an install built by HashiCorp's modules (addresses from IMDS, TLS files, a pre-install script)": {
    ...base,
    baseReplicatedConf: { ...base.baseReplicatedConf, TlsBootstrapType: 'server-path', TlsBootstrapCert: '/var/lib/tfe/cert.pem', TlsBootstrapKey: '/var/lib/tfe/key.pem' },
    installArgs: ['fast-timeouts', 'bypass-firewalld-warning', 'no-proxy', 'private-address=${PRIVATE_IP}', 'public-address=${PRIVATE_IP}'],
    files: [
      { path: '/var/lib/tfe/cert.pem', mode: '0644' },
      { path: '/var/lib/tfe/key.pem', mode: '0600' },
    ],
    preInstallScript: 'set -eu\nmkdir -p /var/lib/tfe\nsysctl -w vm.max_map_count=262144\n',
  },
  'the installer checked against spec.node.installerSha256': { ...base, installerSha256: 'a'.repeat(64) },
  'an existing Redis without TLS or password, odd setting values, no arguments': {
    ...base,
    baseSettings: { ...base.baseSettings, weird: { value: `a'b"c$d\`e\\f \${PRIVATE_IP} $(id)` } },
    installArgs: [],
    secretSettingKeys: [],
    redis: { host: '10.0.0.5', port: 6380, useTls: false, usePassword: false },
  },
};

describe(`shellcheck ${shellcheckVersion()} over the rendered user data`, () => {
  for (const [what, inputs] of Object.entries(installs)) {
    const targets = renderTargets(inputs);
    for (const t of [targets.single, targets.full]) {
      test(`${what}: ${t.description.replace(/ [0-9a-f]{12}$/, '')} is clean`, () => {
        const script = renderInstall(t.install);
        const findings = shellcheck(script);
        assert.equal(findings.length, 0, show(script, findings));
      });
    }
  }

  const docker = (over: Partial<DockerInstall>): DockerInstall => ({
    runtime: 'docker',
    image: imageFor('1.2.2'),
    env: { TFE_HOSTNAME: 'tfe.example.com', TFE_OPERATIONAL_MODE: 'active-active', TFE_WEIRD: `a'b"c$d\`e\\f $(id)` },
    secretEnv: { TFE_LICENSE: 'tfe-operator/tfe/tfe/license', TFE_ENCRYPTION_PASSWORD: 'tfe-operator/tfe/tfe/enc_password' },
    files: [{ path: '/etc/tfe/tls/cert.pem', mode: '0644', secretId: 'tfe-operator/tfe/tfe/file/etc/tfe/tls/cert.pem' }],
    ...over,
  });
  for (const [what, install] of Object.entries({
    'Docker (FDO) active-active, odd values, TLS files, a pre-install script': docker({ preInstallScript: 'set -eu\nsysctl -w vm.max_map_count=262144\n' }),
    'Docker (FDO) external mode, no files': docker({ env: { TFE_OPERATIONAL_MODE: 'external' }, files: [] }),
  })) {
    test(`${what} is clean`, () => {
      const script = renderInstall(install);
      const findings = shellcheck(script);
      assert.equal(findings.length, 0, show(script, findings));
    });
  }

  test('the check fails on what it is for: an unused variable, an unquoted expansion', () => {
    const script = renderInstall(renderTargets(base).full.install);
    const broken = script
      .replace('REPLICATED_CONF=', 'UNUSED_IP="$(imds local-ipv4)"\nREPLICATED_CONF=')
      .replace('chmod 0600 "$REPLICATED_CONF"', 'chmod 0600 $REPLICATED_CONF');
    const codes = new Set(shellcheck(broken).map((f) => f.code));
    assert.ok(codes.has(2034), `SC2034 (unused variable) expected, got ${[...codes].join(', ')}`);
    // SC2086, or SC2248 (quote-safe-variables) for a variable that holds a constant.
    assert.ok(codes.has(2086) || codes.has(2248), `SC2086/SC2248 (unquoted expansion) expected, got ${[...codes].join(', ')}`);
  });
});
