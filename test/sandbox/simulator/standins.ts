// The install kinds the simulator's nodes know. Each kind has the installer downloads its
// user data fetches (served by network.ts to the node, byte for byte the stand-in script in
// standins/<kind>/) and a reader that turns the files the node ended up with into what the
// health checks judge. A Docker (FDO) kind joins by adding one entry here.

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /** The TLS certificate and key the node serves, when the install names its own. */
  tls?: { certFile: string; keyFile: string };
}

export interface InstallKind {
  kind: string;
  downloads: { host: string; paths: string[]; file: string }[];
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
    return {
      kind: 'replicated',
      args: record.args,
      umask: record.umask,
      replicatedConf: conf,
      settings,
      consoleOpen: !record.args.includes('disable-replicated-ui'),
      ...(cert && key ? { tls: { certFile: cert, keyFile: key } } : {}),
    };
  },
};

export const INSTALL_KINDS: readonly InstallKind[] = [replicated];

const scripts = new Map<string, string>();

/** Does any install kind download from this host? (The node's network lets only those through.) */
export function servesHost(host: string): boolean {
  return INSTALL_KINDS.some((k) => k.downloads.some((d) => d.host === host));
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
