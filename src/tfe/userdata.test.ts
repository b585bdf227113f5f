import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForeignUserDataError, parseUserData, renderUserData, USER_DATA_MARKER, type NodeInstall } from './userdata.ts';

const install: NodeInstall = {
  replicatedConf: {
    DaemonAuthenticationType: 'anonymous',
    ImportSettingsFrom: '/etc/ptfe-settings.json',
    LicenseFileLocation: '/etc/tfe-license.rli',
    ReleaseSequence: 504,
    BypassPreflightChecks: true,
    TlsBootstrapType: 'self-signed',
  },
  settings: {
    hostname: { value: 'tfe.example.com' },
    production_type: { value: 'external' },
    enable_active_active: { value: '1' },
    redis_port: { value: '6379' },
  },
  secretSettings: { enc_password: 'tfe-operator/tfe/tfe/enc_password', pg_password: 'tfe-operator/tfe/tfe/setting-pg_password' },
  licenseSecretId: 'tfe-operator/tfe/tfe/license',
  installArgs: ['no-proxy', 'private-address=${PRIVATE_IP}', 'disable-replicated-ui'],
  files: [],
};

test('round trip: parse(render(x)) deep-equals x', () => {
  assert.deepEqual(parseUserData(renderUserData(install)), install);
});

test('round trip with awkward values', () => {
  const odd: NodeInstall = {
    replicatedConf: { A: null, B: [1, 'two', { c: false }], 'quote\'s': "it's", D: 'x\ny' },
    settings: { weird: { value: `a'b"c$d\`e\\f \${PRIVATE_IP} $(rm -rf /)` }, empty: { value: '' }, uni: { value: 'ü\u2028' } },
    secretSettings: { "key'q": "arn:aws:secretsmanager:us-east-1:123:secret:it's-AbCd" },
    licenseSecretId: 'lic ense',
    installArgs: ["we'ird $HOME", 'a="b"', 'x=${PRIVATE_IP}:8800', '$(id)'],
    files: [{ path: '/etc/tfe/ca_bundle.pem', mode: '0644', secretId: "id'q $x" }],
    preInstallScript: "echo 'pre' $HOME <<EOF\n\nEOF\nexit 0\n",
  };
  assert.deepEqual(parseUserData(renderUserData(odd)), odd);
  const empty: NodeInstall = { replicatedConf: {}, settings: {}, secretSettings: {}, licenseSecretId: 'l', installArgs: [], files: [] };
  assert.deepEqual(parseUserData(renderUserData(empty)), empty);
  // CRLF (e.g. edited on Windows and pasted back) still reads.
  assert.deepEqual(parseUserData(renderUserData(install).replace(/\n/g, '\r\n')), install);
});

test('the script is a readable bash script with the marker and no secret values', async () => {
  const script = renderUserData(install);
  assert.ok(script.startsWith(`#!/bin/bash\n${USER_DATA_MARKER}\n`));
  // Secrets come out of --output json with jq, never --output text (which adds a newline).
  assert.match(script, /aws secretsmanager get-secret-value --secret-id "\$1" --output json/);
  assert.doesNotMatch(script, /^[^#\n]*--output text/m);
  // install.sh runs with the usual umask; the secret files before it are written under 077.
  assert.ok(script.indexOf('umask 077') < script.indexOf('umask 022') && script.indexOf('umask 022') < script.indexOf('bash /tmp/tfe-install.sh'));
  assert.match(script, /set_secret_setting 'enc_password' 'tfe-operator\/tfe\/tfe\/enc_password'/);
  assert.match(script, /"private-address=\$\{PRIVATE_IP\}"/);
  assert.match(script, /'disable-replicated-ui'/);
  await new Promise<void>((resolve, reject) =>
    execFile('bash', ['-n', '-c', script], (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
  );
});

test('render refuses what would not round-trip or would not run', () => {
  assert.throws(() => renderUserData({ ...install, settings: { a: { value: 1 as unknown as string } } }), /settings\.a/);
  assert.throws(() => renderUserData({ ...install, settings: { enc_password: { value: 'x' } } }), /enc_password is a secret/);
  assert.throws(() => renderUserData({ ...install, settings: { pg_password: { value: 'x' } }, secretSettings: {} }), /pg_password is a secret.*never its value/);
  assert.throws(() => renderUserData({ ...install, settings: { s3_bucket: { value: 'x' } }, secretSettings: { s3_bucket: 'id' } }), /both a plain and a secret/);
  assert.throws(() => renderUserData({ ...install, installArgs: ['a\nb'] }), /line breaks/);
  assert.throws(() => renderUserData({ ...install, installArgs: ['x=${HOME}'] }), /only \$\{PRIVATE_IP\}/);
  assert.throws(() => renderUserData({ ...install, replicatedConf: { n: Number.NaN } }), /replicatedConf\.n/);
  assert.throws(() => renderUserData({ ...install, licenseSecretId: '' }), /licenseSecretId/);
});

test('foreign user data is refused with a helpful error', () => {
  const cases: [string, string, RegExp][] = [
    ['#!/bin/bash\ncurl https://install.terraform.io/ptfe/stable | bash -s no-proxy\n', 'no-marker', /not written by tfe-operator.*"#!\/bin\/bash".*TfeCluster/],
    ['', 'no-marker', /\(empty\)/],
    [Buffer.from(renderUserData(install)).toString('base64'), 'base64', /base64-encoded/],
    [renderUserData(install).replace('user-data v1', 'user-data v2'), 'unsupported-version', /format v2; this build reads v1/],
    [renderUserData(install).replace('"ReleaseSequence": 504,', '"ReleaseSequence": 504'), 'malformed', /replicated\.conf block is not valid JSON.*edited by hand/],
    [renderUserData(install).replace(/^fetch_license .*$/m, ''), 'malformed', /0 fetch_license lines/],
    [renderUserData(install).replace("  'no-proxy'", '  $(curl evil)'), 'malformed', /install\.sh argument cannot be read/],
    [renderUserData(install).replace('"value": "1"', '"value": 1'), 'malformed', /setting enable_active_active/],
  ];
  for (const [script, reason, message] of cases) {
    assert.throws(
      () => parseUserData(script),
      (err: unknown) => {
        assert.ok(err instanceof ForeignUserDataError, String(err));
        assert.equal(err.reason, reason);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

// Runs the rendered script for real with stand-ins for curl (IMDS, installer download) and
// the AWS CLI, its /etc paths redirected to a temporary directory.
/**
 * A stand-in node in a temporary folder: curl answers the metadata service and serves an
 * install.sh that records its arguments, aws answers from secrets.json; the script's paths
 * are moved under the folder.
 */
function fakeNode(dir: string, secrets: Record<string, string>) {
  const bin = join(dir, 'bin');
  const etc = join(dir, 'etc');
  mkdirSync(bin);
  mkdirSync(etc);
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify(secrets));
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const installer = 'printf "%s\\n" "$@" > "' + dir + '/install-args"\n';
  stub(
    'curl',
    `case "$*" in
  *api/token*) echo token ;;
  *placement/region*) echo us-east-1 ;;
  *local-ipv4*) echo 10.0.1.23 ;;
  *install.terraform.io*) out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
    printf '%s' '${installer}' > "$out" ;;
  *) exit 22 ;;
esac`,
  );
  stub(
    'aws',
    `id=""; while [ $# -gt 0 ]; do case "$1" in --secret-id) id="$2";; esac; shift; done
jq -e --arg id "$id" '.[$id] | select(. != null) | {Name: $id, SecretString: .}' "${dir}/secrets.json" || { echo "ResourceNotFoundException: $id" >&2; exit 254; }`,
  );
  return {
    etc,
    /** The installer the stand-in serves, byte for byte. */
    installer,
    run: (rendered: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile('bash', ['-c', rendered.replaceAll("'/etc/", `'${etc}/`).replaceAll('/tmp/tfe-install.sh', `${dir}/install.sh`)], { env: { PATH: `${bin}:${process.env.PATH}` } }, (err, _o, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        ),
      ),
  };
}

test('the script writes the files, fills in secrets with jq and runs install.sh', { skip: !hasJq() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'userdata-'));
  try {
    const node = fakeNode(dir, {
      'tfe-operator/tfe/tfe/enc_password': 'enc "quoted" $pw\\',
      'tfe-operator/tfe/tfe/setting-pg_password': "pg'pw",
      'tfe-operator/tfe/tfe/license': 'LICENSE-BYTES',
    });
    const etc = node.etc;
    const res = await node.run(renderUserData(install));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(etc, 'replicated.conf'), 'utf8')), install.replicatedConf);
    const written = JSON.parse(readFileSync(join(etc, 'ptfe-settings.json'), 'utf8'));
    assert.deepEqual(written, {
      ...install.settings,
      enc_password: { value: 'enc "quoted" $pw\\' },
      pg_password: { value: "pg'pw" },
    });
    // Byte for byte: no newline added (the AWS CLI's --output text adds one).
    assert.equal(readFileSync(join(etc, 'tfe-license.rli'), 'utf8'), 'LICENSE-BYTES');
    assert.deepEqual(readFileSync(join(dir, 'install-args'), 'utf8').trim().split('\n'), [
      'no-proxy',
      'private-address=10.0.1.23',
      'disable-replicated-ui',
    ]);
    // A missing secret stops the boot with a clear message, before install.sh runs.
    rmSync(join(dir, 'install-args'));
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ 'tfe-operator/tfe/tfe/license': 'x' }));
    const failed = await node.run(renderUserData(install));
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /cannot read secret tfe-operator\/tfe\/tfe\/enc_password \(setting enc_password\)/);
    assert.equal(existsSync(join(dir, 'install-args')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spec.node.installerSha256: install.sh runs only when sha256sum agrees; the boot stops with both sums otherwise', { skip: !hasJq() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'userdata-sha-'));
  try {
    const node = fakeNode(dir, {
      'tfe-operator/tfe/tfe/enc_password': 'e',
      'tfe-operator/tfe/tfe/setting-pg_password': 'p',
      'tfe-operator/tfe/tfe/license': 'L',
    });
    const right = createHash('sha256').update(node.installer).digest('hex');
    const checked = { ...install, installerSha256: right };
    assert.deepEqual(parseUserData(renderUserData(checked)), checked, 'round trip');
    assert.doesNotMatch(renderUserData(install), /sha256sum/, 'no check without a checksum');
    const ok = await node.run(renderUserData(checked));
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(dir, 'install-args')), 'install.sh ran');

    rmSync(join(dir, 'install-args'));
    const wrong = 'f'.repeat(64);
    const failed = await node.run(renderUserData({ ...install, installerSha256: wrong }));
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      new RegExp(`tfe-operator user-data: ERROR: the installer downloaded from https://install.terraform.io/ptfe/stable has sha256 ${right}, not ${wrong} \\(spec.node.installerSha256\\): not running it`),
    );
    assert.equal(existsSync(join(dir, 'install-args')), false, 'install.sh did not run');
    assert.throws(() => renderUserData({ ...install, installerSha256: 'ABC' }), /installerSha256 must be 64 lowercase hex digits/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function hasJq(): boolean {
  return (process.env.PATH ?? '').split(':').some((p) => existsSync(join(p, 'jq')));
}

test('DaemonAuthenticationPassword from Secrets Manager: written into replicated.conf at boot, never in the script', { skip: !hasJq() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'userdata-daemon-'));
  try {
    const password = 'console "pw" $x\\';
    const node = fakeNode(dir, {
      'tfe-operator/tfe/tfe/enc_password': 'e',
      'tfe-operator/tfe/tfe/setting-pg_password': 'p',
      'tfe-operator/tfe/tfe/license': 'L',
      'tfe-operator/tfe/tfe/replicated-DaemonAuthenticationPassword': password,
    });
    const withPw: NodeInstall = {
      ...install,
      replicatedConf: { ...install.replicatedConf, DaemonAuthenticationType: 'password' },
      secretReplicatedConf: { DaemonAuthenticationPassword: 'tfe-operator/tfe/tfe/replicated-DaemonAuthenticationPassword' },
    };
    const script = renderUserData(withPw);
    assert.ok(!script.includes(password) && !script.includes('console '), 'no password in the script');
    assert.deepEqual(parseUserData(script), withPw, 'round trip');
    assert.doesNotMatch(renderUserData(install), /set_secret_replicated/, 'nothing of it without one');
    const res = await node.run(script);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(node.etc, 'replicated.conf'), 'utf8')), { ...withPw.replicatedConf, DaemonAuthenticationPassword: password });
    assert.throws(
      () => renderUserData({ ...withPw, replicatedConf: { ...withPw.replicatedConf, DaemonAuthenticationPassword: 'clear' } }),
      /replicated.conf DaemonAuthenticationPassword is a secret/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
