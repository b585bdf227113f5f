// One simulated EC2 instance's machine: its disk (overlay upper layers under the node's
// folder, prepared like an AMI before first boot) and its first boot (boot.sh in a private
// mount namespace runs the user data as cloud-init does). Nothing here reads or judges the
// user data: bash runs it, with the real curl, jq and AWS CLI.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFiles, type NodeFiles } from './standins.ts';

const BOOT_SH = fileURLToPath(new URL('./boot.sh', import.meta.url));

/** The folders boot.sh overlays (keep in step with boot.sh). */
export const OVERLAID = ['etc', 'var', 'opt', 'root', 'home', 'srv', 'usr/local'] as const;

const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface Image {
  /** The AWS emulator, written into the node's /root/.aws/config as endpoint_url. */
  awsEndpoint: string;
  /** PEM of the sandbox CA, added to the node's system trust store. */
  caPem: string;
  /** The AWS CLI on this machine, linked into the node's /usr/local/bin when the system has none. */
  awsCli: string;
  /** Programs the image holds (standins.ts: the `docker` CLI stand-in, as an AMI with Docker has it). */
  preinstalled?: { path: string; data: string }[];
}

let cachedCli: string | undefined;

/**
 * The real AWS CLI (Python package `awscli`) on this machine: $SANDBOX_AWS_CLI, else the `aws`
 * beside the python3 that has awscli installed (pyenv's shims are shell scripts that need
 * pyenv's own files; the real entry point is not).
 */
export function findAwsCli(): string {
  if (cachedCli) return cachedCli;
  const fromEnv = process.env.SANDBOX_AWS_CLI;
  if (fromEnv) return (cachedCli = fromEnv);
  const python = process.env.PYTHON ?? 'python3';
  try {
    const out = execFileSync(python, ['-c', 'import awscli, os, sys; print(os.path.join(sys.prefix, "bin", "aws"))'], { encoding: 'utf8' }).trim();
    if (existsSync(out)) return (cachedCli = out);
  } catch {
    /* fall through */
  }
  for (const p of ['/usr/local/bin/aws', '/usr/bin/aws']) if (existsSync(p)) return (cachedCli = p);
  throw new Error('the AWS CLI is not installed: python3 -m pip install awscli (the sandbox nodes run it)');
}

export class Machine {
  readonly root: string;
  readonly tmp: string;
  readonly consoleLog: string;
  private proc?: ChildProcess;
  /** SSM commands running now (ssm.ts): ended with the machine. */
  private readonly commands = new Set<ChildProcess>();

  constructor(readonly dir: string) {
    this.root = join(dir, 'upper');
    this.tmp = join(dir, 'tmp');
    this.consoleLog = join(dir, 'console.log');
  }

  /** Lays down the disk as the AMI and EC2 leave it before cloud-init runs the user data. */
  prepare(image: Image, userData: Buffer): void {
    rmSync(this.dir, { recursive: true, force: true });
    for (const d of OVERLAID) mkdirSync(join(this.root, d), { recursive: true });
    mkdirSync(this.tmp, { recursive: true });
    const put = (path: string, data: string | Buffer, mode = 0o644) => this.write(`/${path}`, data, mode);
    // cloud-init's copy of the user data and the script part it runs.
    put('var/lib/cloud/instance/user-data.txt', userData, 0o600);
    put('var/lib/cloud/instance/scripts/part-001', userData, 0o700);
    // The AWS CLI finds the emulator through its config file; credentials come from IMDS.
    put('root/.aws/config', `[default]\nendpoint_url = ${image.awsEndpoint}\n`, 0o600);
    put('root/.aws/credentials', '', 0o600);
    // The sandbox CA in the system trust store (curl and openssl read this bundle).
    const system = existsSync(SYSTEM_CA_BUNDLE) ? readFileSync(SYSTEM_CA_BUNDLE, 'utf8') : '';
    put(SYSTEM_CA_BUNDLE.slice(1), `${system}${system.endsWith('\n') || system === '' ? '' : '\n'}${image.caPem}`);
    if (!existsSync('/usr/local/bin/aws') && !existsSync('/usr/bin/aws')) {
      mkdirSync(join(this.root, 'usr/local/bin'), { recursive: true });
      symlinkSync(image.awsCli, join(this.root, 'usr/local/bin/aws'));
    }
    for (const p of image.preinstalled ?? []) this.write(p.path, p.data, 0o755);
  }

  /** Writes a file onto the node's disk (its overlay upper layer; a path as the node sees it). */
  write(nodePath: string, data: string | Buffer, mode = 0o644): void {
    const f = join(this.root, nodePath);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, data, { mode });
  }

  /** Whether the node wrote this file (its overlay upper layer). */
  wrote(nodePath: string): boolean {
    return existsSync(join(this.root, nodePath));
  }

  /** Runs the user data (boot.sh in its own mount namespace); resolves with its exit. */
  boot(env: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const nodeEnv = [`PATH=${NODE_PATH}`, 'HOME=/root', 'USER=root', 'LOGNAME=root', 'LANG=C.UTF-8', 'SHELL=/bin/bash', ...env];
    writeFileSync(join(this.dir, 'node.env'), `${nodeEnv.join('\n')}\n`);
    const out = openSync(this.consoleLog, 'a');
    try {
      const p = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', BOOT_SH, this.dir], {
        stdio: ['ignore', out, out],
        detached: true, // its own process group: stop() ends the whole boot
      });
      this.proc = p;
      return new Promise((resolve) => {
        p.once('error', (err) => {
          writeFileSync(this.consoleLog, `cannot start the node: ${err.message}\n`, { flag: 'a' });
          resolve({ code: 127, signal: null });
        });
        p.once('exit', (code, signal) => {
          this.proc = undefined;
          resolve({ code, signal });
        });
      });
    } finally {
      closeSync(out);
    }
  }

  /**
   * Runs a script already on the node's disk (a path as the node sees it) in the node's own mount
   * namespace, as root with the node's environment (boot.sh's script mode), like the SSM agent
   * runs a command. Call it only when nothing else runs on this machine (one mount of an overlay's
   * upper dir at a time). After timeoutMs the whole process group is killed (timedOut).
   */
  run(script: string, timeoutMs: number | null, limit = 64 * 1024): Promise<CommandOutcome> {
    return new Promise((resolve) => {
      const p = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', BOOT_SH, this.dir, script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      this.commands.add(p);
      const out = { stdout: '', stderr: '' };
      const take = (k: 'stdout' | 'stderr') => (c: Buffer) => {
        if (out[k].length < limit) out[k] += c.toString('utf8').slice(0, limit - out[k].length);
      };
      p.stdout!.on('data', take('stdout'));
      p.stderr!.on('data', take('stderr'));
      let timedOut = false;
      const timer = timeoutMs === null ? undefined : setTimeout(() => {
        timedOut = true;
        killGroup(p);
      }, timeoutMs);
      p.once('error', (err) => {
        clearTimeout(timer);
        this.commands.delete(p);
        resolve({ code: 127, signal: null, timedOut, stdout: out.stdout, stderr: `cannot start the command: ${err.message}` });
      });
      p.once('close', (code, signal) => {
        clearTimeout(timer);
        this.commands.delete(p);
        resolve({ code, signal, timedOut, ...out });
      });
    });
  }

  files(): NodeFiles {
    return nodeFiles(this.root, OVERLAID, this.tmp);
  }

  /** The last lines of the console (cloud-init's output). */
  consoleTail(lines = 15): string[] {
    try {
      return readFileSync(this.consoleLog, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines);
    } catch {
      return [];
    }
  }

  /** Ends a boot still running and removes the disk. */
  destroy(keep = false): void {
    if (this.proc) killGroup(this.proc);
    for (const c of this.commands) killGroup(c);
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

function killGroup(p: ChildProcess): void {
  if (!p.pid) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * What a failed boot's console says about why: the installer's refusal, else the script's last
 * two error lines (typically the AWS CLI's "An error occurred (...)" and the script's own).
 */
export function failureLine(lines: readonly string[]): string {
  const installer = [...lines].reverse().find((l) => /^install\.sh: /.test(l));
  if (installer) return installer.trim();
  const errors = lines.filter((l) => /error|denied|fail|cannot|unable|not found|no such|refused/i.test(l)).slice(-2);
  if (errors.length) return errors.map((l) => l.trim()).join(' | ');
  return lines[lines.length - 1]?.trim() ?? '(no output)';
}
