// The launch template user data of a Terraform Enterprise node on Docker (Flexible Deployment
// Options), as tfe-operator renders it: a bash script that writes the docker compose file of
// HashiCorp's terraform-enterprise image (JSON, which compose reads as YAML), adds each secret
// variable read from AWS Secrets Manager at boot (never stored in the script), logs in to
// HashiCorp's registry with the license and starts the container.
//
// The variables are TFE's configuration reference's (docs/fdo.md); the compose file's shape
// (project tfe, service tfe, 443 and 8201 published, TLS files bound in) follows HashiCorp's
// terraform-aws-terraform-enterprise-hvd module, which we read, not copied.
//
// parseDockerUserData reads the same script back (parse(render(x)) deep-equals x).

import { shq } from '../tfe/shell.ts';
import {
  FETCH_FILE,
  ForeignUserDataError,
  isPlainObject,
  lineWords,
  preInstallBlock,
  preInstallProblem,
  readHeredocJson,
  readPreInstall,
  SCRIPT_HELPERS,
  WRITE_SECRET_FILE,
  type NodeFile,
} from '../tfe/userdata.ts';

export interface DockerInstall {
  runtime: 'docker';
  /** images.releases.hashicorp.com/hashicorp/terraform-enterprise:<tag> */
  image: string;
  /** The container's variables without secret values (TFE_OPERATIONAL_MODE among them). */
  env: Record<string, string>;
  /** Secret variables: name -> Secrets Manager secret id, read at boot (TFE_LICENSE, TFE_ENCRYPTION_PASSWORD ...). */
  secretEnv: Record<string, string>;
  /** Files written before the container starts and bound into it read-only at the same path. */
  files: NodeFile[];
  preInstallScript?: string;
}

export const DOCKER_MARKER = '# tfe-operator:docker-user-data v1';
export const FDO_REGISTRY = 'images.releases.hashicorp.com';
export const FDO_IMAGE = `${FDO_REGISTRY}/hashicorp/terraform-enterprise`;
/** HashiCorp's registry: user `terraform`, the license as password. */
export const FDO_REGISTRY_USER = 'terraform';
export const COMPOSE_PATH = '/etc/tfe/docker-compose.yaml';
/** Compose project tfe, service tfe: the container docker names tfe-tfe-1 (tfectl runs in it). */
export const CONTAINER = 'tfe-tfe-1';
const COMPOSE_EOF = 'TFE_OPERATOR_COMPOSE';
export const VAULT_PORT = 8201;
/**
 * HashiCorp's HVD module keeps the TLS files in /etc/tfe/tls on the node and binds that folder to
 * /etc/ssl/private/terraform-enterprise in the container (TFE_TLS_CERT_FILE and friends name the
 * container's paths). Node files under TLS_HOST_DIR are bound that way; any other node file at its
 * own path.
 */
export const TLS_HOST_DIR = '/etc/tfe/tls';
export const TLS_CONTAINER_DIR = '/etc/ssl/private/terraform-enterprise';

/** The node path behind a path in the container. */
export function hostPathOf(containerPath: string): string {
  return containerPath.startsWith(`${TLS_CONTAINER_DIR}/`) ? `${TLS_HOST_DIR}/${containerPath.slice(TLS_CONTAINER_DIR.length + 1)}` : containerPath;
}

export const imageFor = (tag: string) => `${FDO_IMAGE}:${tag}`;
export const tagOf = (install: DockerInstall) => install.image.slice(install.image.lastIndexOf(':') + 1);
export const isActiveActiveMode = (install: DockerInstall) => install.env.TFE_OPERATIONAL_MODE === 'active-active';

/** The compose document without secret values. */
export function composeDocument(install: DockerInstall): Record<string, unknown> {
  const aa = isActiveActiveMode(install);
  return {
    name: 'tfe',
    services: {
      tfe: {
        image: install.image,
        // docker compose reads "$" as the start of a variable of its own: "$$" is one "$".
        environment: Object.fromEntries(Object.entries(sortedObject(install.env)).map(([k, v]) => [k, v.replace(/\$/g, '$$$$')])),
        cap_add: ['IPC_LOCK'],
        // TFE listens on 8080 and 8443 in the container (TFE_HTTP_PORT, TFE_HTTPS_PORT).
        ports: [`80:${install.env.TFE_HTTP_PORT || '8080'}`, `443:${install.env.TFE_HTTPS_PORT || '8443'}`, ...(aa ? [`${VAULT_PORT}:${VAULT_PORT}`] : [])],
        volumes: [
          { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock' },
          { type: 'bind', source: '/var/log/terraform-enterprise', target: '/var/log/terraform-enterprise' },
          ...(install.files.some((f) => f.path.startsWith(`${TLS_HOST_DIR}/`)) ? [{ type: 'bind', source: TLS_HOST_DIR, target: TLS_CONTAINER_DIR, read_only: true }] : []),
          ...install.files.filter((f) => !f.path.startsWith(`${TLS_HOST_DIR}/`)).map((f) => ({ type: 'bind', source: f.path, target: f.path, read_only: true })),
        ],
        restart: 'unless-stopped',
      },
    },
  };
}

const sortedObject = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function renderDockerUserData(install: DockerInstall): string {
  checkDockerInstall(install);
  const aa = isActiveActiveMode(install);
  const secretLines = Object.entries(install.secretEnv)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, id]) => `set_secret_env ${shq(name)} ${shq(id)}`);
  const fileLines = install.files.map((f) => `fetch_file ${shq(f.path)} ${shq(f.mode)} ${shq(f.secretId)}`);
  return `#!/bin/bash
${DOCKER_MARKER}
# Terraform Enterprise node on Docker (Flexible Deployment Options), rendered by tfe-operator
# from a TfeCluster. The operator owns this user data: change the TfeCluster or its settings
# ConfigMap instead of editing this script (a hand edit shows up as drift).
# Secret variables and the license are read from AWS Secrets Manager at boot with the instance
# profile; no secret value is stored in this script.
set -euo pipefail
umask 077

${SCRIPT_HELPERS}# set_secret_env NAME SECRET_ID: the container variable NAME from a secret (SecretString, or
# SecretBinary as text), through a pipe, never a command line. Each "$" is doubled, as docker
# compose would otherwise read it as a variable of its own.
set_secret_env() {
  local name="$1" secret_id="$2" answer tmp
  answer="$(get_secret "$secret_id")" || fail "cannot read secret $secret_id ($name) from AWS Secrets Manager"
  tmp="$(mktemp "\${COMPOSE}.XXXXXX")"
  printf '%s' "$answer" | jq --arg name "$name" --slurpfile compose "$COMPOSE" \\
    '(.SecretString // (.SecretBinary | @base64d)) as $v | $compose[0] | .services.tfe.environment[$name] = ($v | gsub("\\\\$"; "$$"))' > "$tmp"
  mv "$tmp" "$COMPOSE"
}

${WRITE_SECRET_FILE}${FETCH_FILE}ensure_tool curl
ensure_tool jq
command -v aws >/dev/null 2>&1 || fail "the AWS CLI is required to read secrets from AWS Secrets Manager"
command -v docker >/dev/null 2>&1 || fail "Docker Engine with the compose plugin is required: use a machine image that has them"
export AWS_DEFAULT_REGION="\${AWS_DEFAULT_REGION:-$(imds placement/region)}"
${aa ? 'PRIVATE_IP="$(imds local-ipv4)"\n' : ''}COMPOSE=${shq(COMPOSE_PATH)}
mkdir -p "$(dirname "$COMPOSE")" /var/log/terraform-enterprise

# The compose file without secret values (JSON, which docker compose reads as YAML).
cat > "$COMPOSE" <<'${COMPOSE_EOF}'
${JSON.stringify(composeDocument(install), null, 2)}
${COMPOSE_EOF}
${
  aa
    ? `
# Active/Active: this node's Vault cluster address, on its private IP.
tmp="$(mktemp "\${COMPOSE}.XXXXXX")"
jq --arg addr "https://\${PRIVATE_IP}:${VAULT_PORT}" '.services.tfe.environment.TFE_VAULT_CLUSTER_ADDRESS = $addr' "$COMPOSE" > "$tmp"
mv "$tmp" "$COMPOSE"
`
    : ''
}
# Secret variables: name, Secrets Manager secret id.
${secretLines.join('\n')}

# Files: path, mode, Secrets Manager secret id.
${fileLines.join('\n')}${fileLines.length ? '\n' : ''}${preInstallBlock(install.preInstallScript)}
# HashiCorp's registry takes the license as password; then the container starts.
umask 022
jq -j '.services.tfe.environment.TFE_LICENSE | gsub("\\\\$\\\\$"; "$")' "$COMPOSE" |
  docker login ${FDO_REGISTRY} --username ${FDO_REGISTRY_USER} --password-stdin
log "starting Terraform Enterprise ${tagOf(install)}"
docker compose --file "$COMPOSE" up --detach
`;
}

function checkDockerInstall(install: DockerInstall): void {
  const bad = (why: string): never => {
    throw new TypeError(`renderDockerUserData: ${why}`);
  };
  if (!install.image.startsWith(`${FDO_IMAGE}:`)) bad(`image must be ${FDO_IMAGE}:<tag>`);
  if (!install.secretEnv.TFE_LICENSE) bad('TFE_LICENSE must come from Secrets Manager');
  for (const [k, v] of Object.entries(install.env)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) bad(`variable name ${JSON.stringify(k)}`);
    if (typeof v !== 'string') bad(`variable ${k} is not a string`);
    if (k in install.secretEnv) bad(`variable ${k} is both plain and secret`);
  }
  for (const [k, id] of Object.entries(install.secretEnv)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) bad(`variable name ${JSON.stringify(k)}`);
    if (typeof id !== 'string' || id === '') bad(`secret id of ${k} is empty`);
  }
  const pre = preInstallProblem(install.preInstallScript);
  if (pre) bad(pre);
}

export function parseDockerUserData(script: string): DockerInstall {
  const lines = script.replace(/\r\n/g, '\n').split('\n');
  const malformed = (what: string): never => {
    throw new ForeignUserDataError('malformed', `user data has the tfe-operator Docker header but ${what}; it was probably edited by hand`);
  };
  if (!lines.includes(DOCKER_MARKER)) throw new ForeignUserDataError('no-marker', `user data has no "${DOCKER_MARKER}" header line`);
  const compose = readHeredocJson(lines, COMPOSE_EOF, 'compose', malformed) as { services?: { tfe?: { image?: unknown; environment?: unknown } } };
  const svc = compose?.services?.tfe;
  if (!svc || typeof svc.image !== 'string' || !isPlainObject(svc.environment)) malformed('its compose file has no service tfe with an image and an environment');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc!.environment as Record<string, unknown>)) {
    if (typeof v !== 'string') malformed(`variable ${k} is not a string`);
    env[k] = (v as string).replace(/\$\$/g, '$');
  }
  const words = lineWords(malformed);
  const secretEnv: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('set_secret_env '))) {
    const [, name, id] = words(line, 3, 'set_secret_env');
    if (name! in secretEnv || name! in env) malformed(`variable ${name} is set twice`);
    secretEnv[name!] = id!;
  }
  const files: NodeFile[] = lines
    .filter((l) => l.startsWith('fetch_file '))
    .map((line) => {
      const [, path, mode, secretId] = words(line, 4, 'fetch_file');
      return { path: path!, mode: mode!, secretId: secretId! };
    });
  if (!lines.some((l) => l.startsWith('docker compose --file "$COMPOSE" up'))) malformed('it never starts the container');
  const preInstallScript = readPreInstall(lines, malformed);
  return { runtime: 'docker', image: svc!.image as string, env, secretEnv, files, ...(preInstallScript === undefined ? {} : { preInstallScript }) };
}
