// The launch template user data the operator owns: a readable bash script that a real EC2
// node runs at first boot. It writes /etc/replicated.conf and /etc/ptfe-settings.json,
// fetches every secret setting and the license from AWS Secrets Manager (never stored in
// the script), and runs HashiCorp's install.sh with the configured arguments.
//
// parseUserData reads the same script back (parse(render(x)) deep-equals x), so the
// operator can tell what a launch template version installs, and the TFE node simulator
// can act as the node would.

import { NODE_FILE_PATH } from '../api/schema.ts';
import { SECRET_SETTING_KEYS } from './settings.ts';

const NODE_FILE_PATH_RE = new RegExp(NODE_FILE_PATH);
import { ShellParseError, shdq, shq, splitWords } from './shell.ts';

export interface NodeInstall {
  replicatedConf: Record<string, unknown>; // /etc/replicated.conf (JSON)
  settings: Record<string, { value: string }>; // /etc/ptfe-settings.json without secret values
  secretSettings: Record<string, string>; // setting key -> Secrets Manager secret id, fetched at boot
  licenseSecretId: string; // Secrets Manager secret id of the license
  installArgs: string[]; // install.sh arguments, e.g. ['no-proxy', 'disable-replicated-ui']
  files: NodeFile[]; // files written before install.sh (TLS certificate and key ...), fetched at boot
  preInstallScript?: string; // the user's own bash, run before install.sh (ends with a newline)
  installerSha256?: string; // spec.node.installerSha256: install.sh is checked with sha256sum before it runs
  secretReplicatedConf?: Record<string, string>; // replicated.conf key -> Secrets Manager secret id (DaemonAuthenticationPassword), fetched at boot
}

/** A file the node writes from a Secrets Manager secret, byte for byte. */
export interface NodeFile {
  path: string;
  mode: string; // octal, e.g. 0600
  secretId: string;
}

/** The header line that marks a script written by this renderer. */
export const USER_DATA_MARKER = '# tfe-operator:user-data v1';
const MARKER_RE = /^# tfe-operator:user-data v(\d+)\s*$/;
const FORMAT_VERSION = 1;

export const REPLICATED_CONF_PATH = '/etc/replicated.conf';
export const SETTINGS_PATH = '/etc/ptfe-settings.json';
export const DEFAULT_LICENSE_PATH = '/etc/tfe-license.rli';
export const INSTALLER_URL = 'https://install.terraform.io/ptfe/stable';

/**
 * Variables an install argument may reference as `${NAME}`; the script sets them from the
 * instance metadata service before install.sh runs, e.g. `private-address=${PRIVATE_IP}`.
 */
export const INSTALL_ARG_VARIABLES = ['PRIVATE_IP'] as const;

const CONF_EOF = 'TFE_OPERATOR_REPLICATED_CONF';
const SETTINGS_EOF = 'TFE_OPERATOR_PTFE_SETTINGS';
const PRE_INSTALL_EOF = 'TFE_OPERATOR_PRE_INSTALL';
export const PRE_INSTALL_PATH = '/var/lib/tfe-operator/pre-install.sh';

export type ForeignReason = 'no-marker' | 'base64' | 'unsupported-version' | 'malformed';

/** The script was not written by this renderer (or was edited so it no longer reads back). */
export class ForeignUserDataError extends Error {
  override readonly name = 'ForeignUserDataError';
  constructor(
    readonly reason: ForeignReason,
    message: string,
  ) {
    super(message);
  }
}


/**
 * Bash helpers every tfe-operator user data script has (install Replicated and Docker): logging,
 * tools, IMDSv2, and reading a secret from AWS Secrets Manager as JSON.
 */
export const SCRIPT_HELPERS = `log() { echo "tfe-operator user-data: $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }

ensure_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $1"
  if command -v dnf >/dev/null 2>&1; then dnf install -y "$1"
  elif command -v yum >/dev/null 2>&1; then yum install -y "$1"
  elif command -v apt-get >/dev/null 2>&1; then apt-get update -y && apt-get install -y "$1"
  else fail "$1 is required and no package manager was found"
  fi
}

# Instance metadata (IMDSv2).
imds() {
  local token
  token="$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)"
  curl -sSf -H "X-aws-ec2-metadata-token: \${token}" "http://169.254.169.254/latest/meta-data/$1"
}

# get_secret SECRET_ID: the GetSecretValue answer as JSON. Values are taken out of it with jq,
# never with "--output text" (which adds a newline) or $(...) (which strips trailing ones),
# so each secret reaches its file byte for byte.
get_secret() {
  aws secretsmanager get-secret-value --secret-id "$1" --output json
}

`;

/** write_secret_file SECRET_ID PATH WHAT: a secret's bytes into a file. */
export const WRITE_SECRET_FILE = `# write_secret_file SECRET_ID PATH WHAT: a file (binary or text), stored as SecretBinary (as
# tfe-operator stores it) or SecretString, written byte for byte.
write_secret_file() {
  local secret_id="$1" path="$2" answer
  answer="$(get_secret "$secret_id")" || fail "cannot read $3 secret $secret_id from AWS Secrets Manager"
  if printf '%s' "$answer" | jq -e 'has("SecretBinary")' >/dev/null; then
    printf '%s' "$answer" | jq -r '.SecretBinary' | base64 -d > "$path"
  else
    printf '%s' "$answer" | jq -j '.SecretString' > "$path"
  fi
}

`;

/** fetch_file PATH MODE SECRET_ID (spec.node.files). */
export const FETCH_FILE = `# fetch_file PATH MODE SECRET_ID: a file the node needs (spec.node.files), with its mode.
fetch_file() {
  mkdir -p "$(dirname "$1")"
  write_secret_file "$3" "$1" "file $1"
  chmod "$2" "$1"
}

`;

// ---------------------------------------------------------------------------------------
// Rendering

export function renderUserData(install: NodeInstall): string {
  checkInstall(install);
  const licensePath =
    typeof install.replicatedConf.LicenseFileLocation === 'string' && install.replicatedConf.LicenseFileLocation !== ''
      ? install.replicatedConf.LicenseFileLocation
      : DEFAULT_LICENSE_PATH;
  const secretLines = Object.entries(install.secretSettings).map(([key, id]) => `set_secret_setting ${shq(key)} ${shq(id)}`);
  // Only when used: a script without them stays byte for byte what it was.
  const secretConf = Object.entries(install.secretReplicatedConf ?? {});
  const secretConfFn = secretConf.length
    ? `
# set_secret_replicated KEY SECRET_ID: writes "KEY": <secret> into replicated.conf (a string,
# through a pipe, never a command line).
set_secret_replicated() {
  local key="$1" secret_id="$2" answer tmp
  answer="$(get_secret "$secret_id")" || fail "cannot read secret $secret_id (replicated.conf $key) from AWS Secrets Manager"
  tmp="$(mktemp "\${REPLICATED_CONF}.XXXXXX")"
  printf '%s' "$answer" | jq --arg key "$key" --slurpfile conf "$REPLICATED_CONF" '$conf[0] + {($key): .SecretString}' > "$tmp"
  mv "$tmp" "$REPLICATED_CONF"
}
`
    : '';
  const secretConfLines = secretConf.length
    ? `
# Secret installer settings: replicated.conf key, Secrets Manager secret id.
${secretConf.map(([key, id]) => `set_secret_replicated ${shq(key)} ${shq(id)}`).join('\n')}
`
    : '';
  const argLines = install.installArgs.map((a) => `  ${a.includes('${') ? shdq(a, INSTALL_ARG_VARIABLES) : shq(a)}`);
  const fileLines = install.files.map((f) => `fetch_file ${shq(f.path)} ${shq(f.mode)} ${shq(f.secretId)}`);
  // Variables are set only where the script uses them (shellcheck SC2034: test/unit/userdata-shellcheck.test.ts).
  const privateIp = install.installArgs.some((a) => a.includes('${PRIVATE_IP}')) ? 'PRIVATE_IP="$(imds local-ipv4)"\n' : '';
  const preInstall = preInstallBlock(install.preInstallScript);

  return `#!/bin/bash
${USER_DATA_MARKER}
# Terraform Enterprise node install, rendered by tfe-operator from a TfeCluster.
# The operator owns this user data: change the TfeCluster or its settings ConfigMap
# instead of editing this script (a hand edit shows up as drift).
# Secret settings and the license are read from AWS Secrets Manager at boot with the
# instance profile; no secret value is stored in this script.
set -euo pipefail
umask 077

${SCRIPT_HELPERS}# set_secret_setting KEY SECRET_ID: writes {"KEY": {"value": <secret>}} into the settings
# file. The value goes through a pipe, never through a command line.
set_secret_setting() {
  local key="$1" secret_id="$2" answer tmp
  answer="$(get_secret "$secret_id")" || fail "cannot read secret $secret_id (setting $key) from AWS Secrets Manager"
  tmp="$(mktemp "\${SETTINGS_FILE}.XXXXXX")"
  printf '%s' "$answer" | jq --arg key "$key" --slurpfile settings "$SETTINGS_FILE" '$settings[0] + {($key): {value: .SecretString}}' > "$tmp"
  mv "$tmp" "$SETTINGS_FILE"
}
${secretConfFn}
${WRITE_SECRET_FILE}# fetch_license SECRET_ID: the license file (binary .rli).
fetch_license() {
  write_secret_file "$1" "$LICENSE_FILE" license
}

${FETCH_FILE}ensure_tool curl
ensure_tool jq
command -v aws >/dev/null 2>&1 || fail "the AWS CLI is required to read secrets from AWS Secrets Manager"
export AWS_DEFAULT_REGION="\${AWS_DEFAULT_REGION:-$(imds placement/region)}"
${privateIp}
REPLICATED_CONF=${shq(REPLICATED_CONF_PATH)}
SETTINGS_FILE=${shq(SETTINGS_PATH)}
LICENSE_FILE=${shq(licensePath)}

# Installer settings (replicated.conf).
cat > "$REPLICATED_CONF" <<'${CONF_EOF}'
${JSON.stringify(install.replicatedConf, null, 2)}
${CONF_EOF}
${secretConfLines}
# Application settings (ptfe-settings.json), secret settings added below.
cat > "$SETTINGS_FILE" <<'${SETTINGS_EOF}'
${JSON.stringify(install.settings, null, 2)}
${SETTINGS_EOF}

# Secret settings: setting key, Secrets Manager secret id.
${secretLines.join('\n')}${secretLines.length ? '\n' : ''}
# License.
fetch_license ${shq(install.licenseSecretId)}

chmod 0600 "$REPLICATED_CONF" "$SETTINGS_FILE" "$LICENSE_FILE"

# Files: path, mode, Secrets Manager secret id.
${fileLines.join('\n')}${fileLines.length ? '\n' : ''}${preInstall}
# install.sh arguments.
INSTALL_ARGS=(
${argLines.join('\n')}${argLines.length ? '\n' : ''})

# The secret files above stay 0600 (umask 077); install.sh and Replicated write files that
# TFE's containers (not root) must read, so they run with the usual umask.
umask 022
log "downloading the Terraform Enterprise installer"
curl -sSfL -o /tmp/tfe-install.sh ${INSTALLER_URL}
${installerCheck(install.installerSha256)}log "running install.sh \${INSTALL_ARGS[*]+\${INSTALL_ARGS[*]}}"
bash /tmp/tfe-install.sh \${INSTALL_ARGS[@]+"\${INSTALL_ARGS[@]}"}
`;
}

/** The pre-install script block (spec.node.preInstallScriptRef); '' without one. */
export function preInstallBlock(script: string | undefined): string {
  return script === undefined
    ? ''
    : `
# Pre-install script (spec.node.preInstallScriptRef): the user's own steps, run as root.
PRE_INSTALL=${shq(PRE_INSTALL_PATH)}
mkdir -p "$(dirname "$PRE_INSTALL")"
cat > "$PRE_INSTALL" <<'${PRE_INSTALL_EOF}'
${script}${PRE_INSTALL_EOF}
log "running the pre-install script"
(umask 022 && bash "$PRE_INSTALL") || fail "the pre-install script (spec.node.preInstallScriptRef) failed with exit code $?"
`;
}

/** Problems of a pre-install script for a heredoc. */
export function preInstallProblem(script: string | undefined): string | undefined {
  if (script === undefined) return undefined;
  if (!script.endsWith('\n')) return 'preInstallScript must end with a newline';
  if (script.split('\n').includes(PRE_INSTALL_EOF)) return `preInstallScript must not contain the line ${PRE_INSTALL_EOF}`;
  if (script.includes('\0')) return 'preInstallScript must not contain NUL';
  return undefined;
}

/** The pre-install script a rendered user data holds, if any. */
export function readPreInstall(lines: string[], malformed: (what: string) => never): string | undefined {
  const preStart = lines.findIndex((l) => l.trimEnd().endsWith(`<<'${PRE_INSTALL_EOF}'`));
  if (preStart < 0) return undefined;
  const preEnd = lines.indexOf(PRE_INSTALL_EOF, preStart + 1);
  if (preEnd < 0) malformed(`its pre-install script is not closed by ${PRE_INSTALL_EOF}`);
  return lines.slice(preStart + 1, preEnd).map((l) => `${l}\n`).join('');
}

/** The installer's checksum check (spec.node.installerSha256): nothing without one. */
function installerCheck(sha256: string | undefined): string {
  if (sha256 === undefined) return '';
  return `INSTALLER_SHA256=${shq(sha256)}
# spec.node.installerSha256: the installer runs only if it is the one reviewed.
INSTALLER_SUM="$(sha256sum /tmp/tfe-install.sh)"
INSTALLER_SUM="\${INSTALLER_SUM%% *}"
if [[ "$INSTALLER_SUM" != "$INSTALLER_SHA256" ]]; then
  fail "the installer downloaded from ${INSTALLER_URL} has sha256 $INSTALLER_SUM, not $INSTALLER_SHA256 (spec.node.installerSha256): not running it"
fi
`;
}

function checkInstall(install: NodeInstall): void {
  const bad = (what: string) => {
    throw new TypeError(`renderUserData: ${what}`);
  };
  if (install.installerSha256 !== undefined && !/^[0-9a-f]{64}$/.test(install.installerSha256)) bad('installerSha256 must be 64 lowercase hex digits');
  for (const [key, id] of Object.entries(install.secretReplicatedConf ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) bad(`secretReplicatedConf: ${JSON.stringify(key)} is not a replicated.conf key`);
    if (key in install.replicatedConf) bad(`replicated.conf ${key} is a secret: its Secrets Manager id goes in secretReplicatedConf, never its value in user data`);
    if (typeof id !== 'string' || id === '' || /[\n\r\0]/.test(id)) bad(`secretReplicatedConf.${key} must be a secret id on one line`);
  }
  if (!isPlainObject(install.replicatedConf)) bad('replicatedConf must be an object');
  checkJson(install.replicatedConf, 'replicatedConf');
  if (!isPlainObject(install.settings)) bad('settings must be an object');
  for (const [key, v] of Object.entries(install.settings)) {
    if (!isPlainObject(v) || typeof v.value !== 'string' || Object.keys(v).length !== 1) {
      bad(`settings.${key} must be exactly { value: string }`);
    }
    if (SECRET_SETTING_KEYS.includes(key)) {
      bad(`setting ${key} is a secret: put its Secrets Manager id in secretSettings, never its value in user data`);
    }
  }
  for (const [key, id] of Object.entries(install.secretSettings)) {
    if (typeof id !== 'string' || id === '') bad(`secretSettings.${key} must be a non-empty secret id`);
    if (key in install.settings) bad(`setting ${key} is both a plain and a secret setting`);
    if (/[\n\r\0]/.test(key) || /[\n\r\0]/.test(id)) bad(`secretSettings.${key}: line breaks are not allowed`);
  }
  if (typeof install.licenseSecretId !== 'string' || install.licenseSecretId === '') bad('licenseSecretId is required');
  if (/[\n\r\0]/.test(install.licenseSecretId)) bad('licenseSecretId: line breaks are not allowed');
  if (!Array.isArray(install.files)) bad('files must be an array');
  for (const f of install.files) {
    if (!NODE_FILE_PATH_RE.test(f.path)) bad(`file path ${JSON.stringify(f.path)} must be absolute, without '..'`);
    if (!/^0[0-7]{3}$/.test(f.mode)) bad(`file ${f.path}: mode ${JSON.stringify(f.mode)} must be octal, e.g. 0600`);
    if (typeof f.secretId !== 'string' || f.secretId === '' || /[\n\r\0]/.test(f.secretId)) bad(`file ${f.path}: a one-line secret id is required`);
  }
  const pre = preInstallProblem(install.preInstallScript);
  if (pre) bad(pre);
  if (!Array.isArray(install.installArgs)) bad('installArgs must be an array');
  for (const a of install.installArgs) {
    if (typeof a !== 'string' || a === '') bad('installArgs must be non-empty strings');
    if (/[\n\r\0]/.test(a)) bad(`install argument ${JSON.stringify(a)}: line breaks are not allowed`);
    const refs = a.match(/\$\{[^}]*\}/g) ?? [];
    for (const r of refs) {
      if (!INSTALL_ARG_VARIABLES.some((v) => r === `\${${v}}`)) {
        bad(`install argument ${JSON.stringify(a)} references ${r}; only ${INSTALL_ARG_VARIABLES.map((v) => `\${${v}}`).join(', ')} are set by the script`);
      }
    }
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Only JSON values survive the heredoc round trip; say which one would not. */
function checkJson(v: unknown, path: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`renderUserData: ${path} is not a finite number`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${path}[${i}]`));
    return;
  }
  if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) checkJson(x, `${path}.${k}`);
    return;
  }
  throw new TypeError(`renderUserData: ${path} is not a JSON value (${typeof v})`);
}

// ---------------------------------------------------------------------------------------
// Parsing

const FOREIGN_HINT =
  'tfe-operator owns the launch template user data: put the install settings in the TfeCluster ' +
  '(settings ConfigMap, secretSettings, licenseSecretRef) and let the operator render a new version';

export function parseUserData(script: string): NodeInstall {
  const text = script.replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  const markerLine = lines.find((l) => MARKER_RE.test(l));
  if (markerLine === undefined) {
    if (looksBase64Of(text)) {
      throw new ForeignUserDataError(
        'base64',
        'user data is still base64-encoded (as EC2 returns it); decode it before parsing',
      );
    }
    const first = lines.find((l) => l.trim() !== '')?.trim().slice(0, 60) ?? '(empty)';
    throw new ForeignUserDataError(
      'no-marker',
      `user data was not written by tfe-operator: no "${USER_DATA_MARKER}" header line (it starts with ${JSON.stringify(first)}); ${FOREIGN_HINT}`,
    );
  }
  const version = Number(MARKER_RE.exec(markerLine)![1]);
  if (version !== FORMAT_VERSION) {
    throw new ForeignUserDataError(
      'unsupported-version',
      `user data is in tfe-operator format v${version}; this build reads v${FORMAT_VERSION} (upgrade the operator, or let it render a new launch template version)`,
    );
  }

  const malformed = (what: string): never => {
    throw new ForeignUserDataError(
      'malformed',
      `user data has the tfe-operator header but ${what}; it was probably edited by hand. ${FOREIGN_HINT}`,
    );
  };

  const replicatedConf = readHeredocJson(lines, CONF_EOF, 'replicated.conf', malformed);
  if (!isPlainObject(replicatedConf)) malformed('its replicated.conf is not a JSON object');
  const rawSettings = readHeredocJson(lines, SETTINGS_EOF, 'ptfe-settings.json', malformed);
  if (!isPlainObject(rawSettings)) malformed('its ptfe-settings.json is not a JSON object');
  const settings: Record<string, { value: string }> = {};
  for (const [key, v] of Object.entries(rawSettings as Record<string, unknown>)) {
    if (!isPlainObject(v) || typeof v.value !== 'string' || Object.keys(v).length !== 1) {
      malformed(`setting ${key} in ptfe-settings.json is not {"value": "<string>"}`);
    }
    settings[key] = { value: (v as { value: string }).value };
  }

  const words = lineWords(malformed);

  const secretSettings: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('set_secret_setting '))) {
    const [, key, id] = words(line, 3, 'set_secret_setting');
    if (key! in secretSettings) malformed(`secret setting ${key} is fetched twice`);
    if (key! in settings) malformed(`setting ${key} is both plain and secret`);
    secretSettings[key!] = id!;
  }

  const licenseLines = lines.filter((l) => l.startsWith('fetch_license '));
  if (licenseLines.length !== 1) malformed(`it has ${licenseLines.length} fetch_license lines, expected 1`);
  const [, licenseSecretId] = words(licenseLines[0]!, 2, 'fetch_license');

  const files: NodeFile[] = [];
  for (const line of lines.filter((l) => l.startsWith('fetch_file '))) {
    const [, path, mode, secretId] = words(line, 4, 'fetch_file');
    files.push({ path: path!, mode: mode!, secretId: secretId! });
  }
  const preInstallScript = readPreInstall(lines, malformed);

  const start = lines.indexOf('INSTALL_ARGS=(');
  if (start < 0) malformed('its INSTALL_ARGS=( block is missing');
  const end = lines.indexOf(')', start);
  if (end < 0) malformed('its INSTALL_ARGS block is not closed');
  const installArgs: string[] = [];
  for (const line of lines.slice(start + 1, end)) {
    try {
      installArgs.push(...splitWords(line.trim(), INSTALL_ARG_VARIABLES));
    } catch (err) {
      malformed(`an install.sh argument cannot be read: ${JSON.stringify(line.trim())} (${(err as Error).message})`);
    }
  }
  if (!lines.some((l) => /^bash \S*install\.sh .*INSTALL_ARGS/.test(l))) malformed('it never runs install.sh');
  const secretReplicatedConf: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('set_secret_replicated '))) {
    const [, key, id] = words(line, 3, 'set_secret_replicated');
    if (key! in secretReplicatedConf || key! in (replicatedConf as Record<string, unknown>)) malformed(`replicated.conf ${key} is set twice`);
    secretReplicatedConf[key!] = id!;
  }
  const shaLine = lines.find((l) => l.startsWith('INSTALLER_SHA256='));
  const installerSha256 = shaLine === undefined ? undefined : words(shaLine.replace(/^INSTALLER_SHA256=/, 'sha '), 2, 'INSTALLER_SHA256')[1];

  return {
    replicatedConf: replicatedConf as Record<string, unknown>,
    settings,
    secretSettings,
    licenseSecretId: licenseSecretId!,
    installArgs,
    files,
    ...(preInstallScript === undefined ? {} : { preInstallScript }),
    ...(installerSha256 === undefined ? {} : { installerSha256 }),
    ...(Object.keys(secretReplicatedConf).length ? { secretReplicatedConf } : {}),
  };
}

/** Reads a helper call line of a rendered script as `n` words (the function and its arguments), or says why not. */
export function lineWords(malformed: (what: string) => never) {
  return (line: string, n: number, what: string, vars: readonly string[] = []): string[] => {
    let w: string[] = [];
    try {
      w = splitWords(line, vars);
    } catch (err) {
      malformed(`its ${what} line cannot be read (${(err as ShellParseError).message})`);
    }
    if (w.length !== n) malformed(`its ${what} line has ${w.length - 1} arguments, expected ${n - 1}`);
    return w;
  };
}

export function readHeredocJson(lines: string[], eof: string, what: string, malformed: (w: string) => never): unknown {
  const opener = `<<'${eof}'`;
  const starts = lines.flatMap((l, i) => (l.trimEnd().endsWith(opener) ? [i] : []));
  if (starts.length !== 1) malformed(`it has ${starts.length} ${what} blocks, expected 1`);
  const end = lines.indexOf(eof, starts[0]! + 1);
  if (end < 0) malformed(`its ${what} block is not closed by ${eof}`);
  const body = lines.slice(starts[0]! + 1, end).join('\n');
  try {
    return JSON.parse(body);
  } catch (err) {
    return malformed(`its ${what} block is not valid JSON (${(err as Error).message})`);
  }
}

export function looksBase64Of(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return false;
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  return decoded.startsWith('#!') || decoded.includes('# tfe-operator:user-data');
}
