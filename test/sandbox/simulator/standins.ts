// The install kinds the simulator's nodes know. Each kind has the installer downloads its
// user data fetches (served by network.ts to the node, byte for byte the stand-in script in
// standins/<kind>/), the programs the machine image already holds (laid down by machine.ts),
// the other sites of the network it answers (a registry), and a reader that turns the files the
// node ended up with into what the health checks judge.
//   replicated  install.sh from install.terraform.io; settings in /etc/replicated.conf and the
//               settings file it names (checks.ts)
//   docker      FDO on Docker: a `docker` CLI stand-in on the image, HashiCorp's registry
//               (images.releases.hashicorp.com) answered here; TFE's variables from the compose
//               file `docker compose up` was given (fdo.ts)

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configProblems } from './checks.ts';
import { FDO_IMAGE, FDO_REGISTRY, FDO_REGISTRY_USER, FDO_TAGS, fdoConfigProblems, fdoLicenseProblem, fdoRedis, operationalMode, type FdoEnv } from './fdo.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The node's disk after boot: a path as the node saw it -> the file on this machine. */
export interface NodeFiles {
  /** Where the node's file is on this machine, or undefined when the node has no such file. */
  hostPath(nodePath: string): string | undefined;
  read(nodePath: string): Buffer | undefined;
}

/** What a node installed, as the health checks need it. Secret values live in memory only. */
export interface Installed {
  kind: string;
  args: string[];
  umask: string;
  /** /etc/replicated.conf (Replicated) as JSON. */
  replicatedConf: Record<string, unknown>;
  /** The application settings with every value, secrets included. */
  settings: Record<string, string>;
  /** Whether the Replicated admin console (8800) runs. */
  consoleOpen: boolean;
  /** The TLS certificate and key the node serves (files on this machine), when the install names its own. */
  tls?: { certFile: string; keyFile: string };
  /** The TFE hostname the install serves. */
  hostname?: string;
  /** Active/Active: several nodes share one installation through an external Redis. */
  activeActive: boolean;
  /** The external Redis of an Active/Active install. */
  redis?: RedisEndpoint;
  /** The release: Replicated's ReleaseSequence or the FDO image tag. */
  release: string | null;
  /** What keeps the application from starting, whatever the other nodes do (each names its setting). */
  problems: string[];
  /** FDO only: what the container runs (its image tag, operational mode, container name, database). */
  fdo?: { tag: string; mode: string; container: string; database: string; ports: string[] };
}

export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
  password?: string;
}

/** One answer of a site the node reaches through its network (network.ts). */
export interface SiteAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export type SiteHandler = (method: string, path: string, headers: Record<string, string | string[] | undefined>) => SiteAnswer;

export interface InstallKind {
  kind: string;
  downloads: { host: string; paths: string[]; file: string }[];
  /** Programs the machine image holds: node path -> stand-in file under standins/. */
  preinstalled?: { path: string; file: string }[];
  /** Other HTTPS sites of this kind (the registry): host -> handler. */
  sites?: Record<string, SiteHandler>;
  /** Undefined when the installer never ran on this node. */
  readInstalled(files: NodeFiles): Installed | undefined;
}

function readJson(files: NodeFiles, path: string): unknown {
  const b = files.read(path);
  if (b === undefined) throw new Error(`${path} is missing`);
  return JSON.parse(b.toString('utf8'));
}

const replicated: InstallKind = {
  kind: 'replicated',
  downloads: [{ host: 'install.terraform.io', paths: ['/ptfe/stable', '/ptfe/latest', '/ptfe/beta'], file: 'replicated/install.sh' }],
  readInstalled(files) {
    if (files.read('/var/lib/tfe-sim/install.json') === undefined) return undefined;
    const record = readJson(files, '/var/lib/tfe-sim/install.json') as { args: string[]; umask: string; replicatedConf: string; settings: string };
    const conf = readJson(files, record.replicatedConf) as Record<string, unknown>;
    const raw = readJson(files, record.settings) as Record<string, { value: string }>;
    const settings = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
    const serverPath = conf.TlsBootstrapType === 'server-path';
    const cert = serverPath ? files.hostPath(String(conf.TlsBootstrapCert)) : undefined;
    const key = serverPath ? files.hostPath(String(conf.TlsBootstrapKey)) : undefined;
    const activeActive = settings.enable_active_active === '1';
    return {
      kind: 'replicated',
      args: record.args,
      umask: record.umask,
      replicatedConf: conf,
      settings,
      consoleOpen: !record.args.includes('disable-replicated-ui'),
      ...(cert && key ? { tls: { certFile: cert, keyFile: key } } : {}),
      hostname: settings.hostname,
      activeActive,
      ...(activeActive && settings.redis_host
        ? {
            redis: {
              host: settings.redis_host,
              port: Number(settings.redis_port),
              tls: settings.redis_use_tls === '1',
              ...(settings.redis_use_password_auth === '1' ? { password: settings.redis_pass } : {}),
            },
          }
        : {}),
      release: typeof conf.ReleaseSequence === 'number' ? `sequence ${conf.ReleaseSequence}` : null,
      problems: configProblems(conf, settings),
    };
  },
};

// ---------------------------------------------------------------------------------------
// FDO on Docker

const DOCKER_STATE = '/var/lib/tfe-sim/docker';

/** HashiCorp's registry as a Docker client meets it (Docker Registry HTTP API v2): login with user `terraform` and the license. */
function registry(method: string, path: string, headers: Record<string, string | string[] | undefined>): SiteAnswer {
  const json = (status: number, body: unknown, extra: Record<string, string> = {}): SiteAnswer => ({
    status,
    headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', ...extra },
    body: JSON.stringify(body),
  });
  const unauthorized = (message: string) =>
    json(401, { errors: [{ code: 'UNAUTHORIZED', message }] }, { 'www-authenticate': `Basic realm="${FDO_REGISTRY}"` });
  if (method !== 'GET' && method !== 'HEAD') return json(405, { errors: [{ code: 'UNSUPPORTED', message: 'method not allowed' }] });
  const auth = typeof headers.authorization === 'string' ? /^Basic (.+)$/.exec(headers.authorization) : null;
  if (!auth) return unauthorized('authentication required');
  const decoded = Buffer.from(auth[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  if (colon < 0 || user !== FDO_REGISTRY_USER) return unauthorized(`username must be ${FDO_REGISTRY_USER}`);
  const why = fdoLicenseProblem(pass);
  if (why) return unauthorized(`the password is not a valid Terraform Enterprise license: ${why}`);
  if (path === '/v2/' || path === '/v2') return json(200, {});
  const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (!m) return json(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
  if (m[1] !== FDO_IMAGE) return json(404, { errors: [{ code: 'NAME_UNKNOWN', message: `repository name not known to registry: ${m[1]}` }] });
  if (!FDO_TAGS.includes(m[2]!)) return json(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
  return json(200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }, { 'docker-content-digest': `sha256:${'0'.repeat(64)}` });
}

type ComposeService = {
  image?: string;
  environment?: Record<string, unknown> | string[];
  ports?: unknown[];
  volumes?: unknown[];
};

/**
 * Docker compose's interpolation of a value: "$$" is one "$"; $VAR and ${VAR} are the variables of
 * compose's own environment, which on a node's boot has none of them, so they become "" (compose
 * warns "The VAR variable is not set. Defaulting to a blank string."). A password with a "$" that
 * was not doubled reaches TFE changed, as it would on a real node.
 */
export function composeInterpolate(value: string): string {
  return value.replace(/\$\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, (m) => (m === '$$' ? '$' : ''));
}

/** The service's environment as TFE sees it, after compose's interpolation. */
function composeEnv(svc: ComposeService): FdoEnv {
  const env: FdoEnv = {};
  if (Array.isArray(svc.environment)) {
    for (const e of svc.environment) {
      const [k, ...v] = String(e).split('=');
      env[k!] = composeInterpolate(v.join('='));
    }
  } else if (svc.environment) {
    for (const [k, v] of Object.entries(svc.environment)) env[k] = v === null || v === undefined ? '' : composeInterpolate(String(v));
  }
  return env;
}

/** Bind mounts: container path -> node path. */
function composeBinds(svc: ComposeService): [string, string][] {
  const out: [string, string][] = [];
  for (const v of svc.volumes ?? []) {
    if (typeof v === 'string') {
      const [src, dst] = v.split(':');
      if (src?.startsWith('/') && dst) out.push([dst, src]);
    } else if (v && typeof v === 'object' && (v as { type?: string }).type === 'bind') {
      const b = v as { source?: string; target?: string };
      if (b.source && b.target) out.push([b.target, b.source]);
    }
  }
  return out.sort((a, b) => b[0].length - a[0].length);
}

const docker: InstallKind = {
  kind: 'docker',
  downloads: [],
  preinstalled: [{ path: '/usr/local/bin/docker', file: 'docker/docker' }],
  sites: { [FDO_REGISTRY]: registry },
  readInstalled(files) {
    const raw = files.read(`${DOCKER_STATE}/compose.json`);
    if (raw === undefined) return undefined;
    const record = JSON.parse(raw.toString('utf8')) as { composeFile: string; image: string; service: string; container: string };
    const text = files.read(record.composeFile);
    if (text === undefined) throw new Error(`the compose file ${record.composeFile} is gone`);
    const doc = parseYaml(text.toString('utf8')) as { services?: Record<string, ComposeService> };
    const svc = doc?.services?.[record.service];
    if (!svc) throw new Error(`${record.composeFile} has no service ${record.service}`);
    const env = composeEnv(svc);
    const binds = composeBinds(svc);
    const inContainer = (p: string): string | undefined => {
      const bind = binds.find(([target]) => p === target || p.startsWith(`${target}/`));
      return bind ? files.hostPath(posix.join(bind[1], p.slice(bind[0].length))) : undefined;
    };
    const tag = record.image.slice(record.image.lastIndexOf(':') + 1);
    const mode = operationalMode(env);
    const problems = fdoConfigProblems(env, (p) => inContainer(p) !== undefined);
    if (env.TFE_LICENSE) {
      const why = fdoLicenseProblem(env.TFE_LICENSE);
      if (why) problems.push(`TFE_LICENSE: ${why}`);
    } else if (env.TFE_LICENSE_PATH && inContainer(env.TFE_LICENSE_PATH)) {
      const why = fdoLicenseProblem(readFileSync(inContainer(env.TFE_LICENSE_PATH)!, 'utf8'));
      if (why) problems.push(`TFE_LICENSE_PATH ${env.TFE_LICENSE_PATH}: ${why}`);
    }
    const ports = (svc.ports ?? []).map(String);
    if (mode === 'active-active' && !ports.some((p) => /(^|:)8201:8201$/.test(p))) {
      problems.push('port 8201 is not published (ports: "8201:8201"): the other nodes cannot reach this node\'s Vault');
    }
    const cert = env.TFE_TLS_CERT_FILE ? inContainer(env.TFE_TLS_CERT_FILE) : undefined;
    const key = env.TFE_TLS_KEY_FILE ? inContainer(env.TFE_TLS_KEY_FILE) : undefined;
    const activeActive = mode === 'active-active';
    return {
      kind: 'docker',
      args: [record.image],
      umask: '',
      replicatedConf: {},
      settings: env,
      consoleOpen: false,
      ...(cert && key ? { tls: { certFile: cert, keyFile: key } } : {}),
      hostname: env.TFE_HOSTNAME || undefined,
      activeActive,
      ...(activeActive && env.TFE_REDIS_HOST ? { redis: fdoRedis(env) } : {}),
      release: tag,
      problems,
      fdo: { tag, mode, container: record.container, database: `${env.TFE_DATABASE_HOST ?? ''}/${env.TFE_DATABASE_NAME ?? ''}`, ports },
    };
  },
};

export const INSTALL_KINDS: readonly InstallKind[] = [replicated, docker];

/** The programs every machine image holds (machine.ts): node path -> content. */
export function preinstalledFiles(): { path: string; data: string }[] {
  return INSTALL_KINDS.flatMap((k) => (k.preinstalled ?? []).map((p) => ({ path: p.path, data: readFileSync(join(here, 'standins', p.file), 'utf8') })));
}

/** A site other than an installer download (the registry), when a kind serves that host. */
export function siteFor(host: string): SiteHandler | undefined {
  for (const k of INSTALL_KINDS) if (k.sites?.[host]) return k.sites[host];
  return undefined;
}

const scripts = new Map<string, string>();

/** Does any install kind download from this host? (The node's network lets only those through.) */
export function servesHost(host: string): boolean {
  return INSTALL_KINDS.some((k) => k.downloads.some((d) => d.host === host) || k.sites?.[host] !== undefined);
}

/** The stand-in a download URL serves. */
export function installerFor(host: string, path: string): { kind: string; script: string } | undefined {
  for (const k of INSTALL_KINDS) {
    for (const d of k.downloads) {
      if (d.host !== host) continue;
      if (!d.paths.includes(path.split('?')[0]!)) continue;
      let script = scripts.get(d.file);
      if (script === undefined) {
        script = readFileSync(join(here, 'standins', d.file), 'utf8');
        scripts.set(d.file, script);
      }
      return { kind: k.kind, script };
    }
  }
  return undefined;
}

/** What the node installed, by whichever installer ran; undefined when none did. */
export function readInstalled(files: NodeFiles): Installed | undefined {
  for (const k of INSTALL_KINDS) {
    const found = k.readInstalled(files);
    if (found) return found;
  }
  return undefined;
}

/**
 * A node's files: the overlay upper layers under `root` (what the node wrote), falling back
 * to this machine's own files (the lower layers: what the image came with). A whiteout (a
 * character device in the upper layer) means the node deleted the file.
 */
export function nodeFiles(root: string, overlaid: readonly string[], tmpDir: string): NodeFiles {
  const hostPath = (p: string): string | undefined => {
    if (!p.startsWith('/')) return undefined;
    if (p === '/tmp' || p.startsWith('/tmp/')) {
      const f = join(tmpDir, p.slice(4));
      return existsSync(f) ? f : undefined;
    }
    const top = overlaid.find((d) => p.startsWith(`/${d}/`));
    if (top) {
      const upper = join(root, p);
      if (existsSync(upper) || isWhiteout(upper)) return isWhiteout(upper) ? undefined : upper;
    }
    return existsSync(p) ? p : undefined;
  };
  return {
    hostPath,
    read: (p) => {
      const f = hostPath(p);
      if (f === undefined) return undefined;
      try {
        return readFileSync(f);
      } catch {
        return undefined;
      }
    },
  };
}

function isWhiteout(f: string): boolean {
  try {
    const st = lstatSync(f);
    return st.isCharacterDevice() && st.rdev === 0;
  } catch {
    return false;
  }
}
