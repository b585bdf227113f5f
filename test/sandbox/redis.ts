// A real redis-server (Debian's, built with TLS): TLS only, password required, no persistence.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createCA, issueCert, type CA } from './certs.ts';
import { onFreePort } from './ports.ts';
import { requireBinary, spawnLogged, waitFor, type Proc } from './procs.ts';
import { restartable, type Restartable } from './restartable.ts';

export interface SandboxRedis {
  host: string;
  port: number;
  password: string;
  caFile: string;
  proc: Proc;
  /** The server, stoppable and startable in place (same port, password and certificate), for fault tests. */
  part: Restartable;
  stop(): Promise<void>;
}

export interface RedisOptions {
  dir: string;
  logDir?: string;
  ca?: CA;
  password?: string;
  /** Fixed TLS port; a free one by default. */
  port?: number;
}

/**
 * Sends inline commands over TLS and returns the raw replies (one line each), e.g.
 * `['-WRONGPASS invalid username-password pair ...', '+PONG']`. Plain RESP, no client
 * library, so tests see exactly what the server says.
 */
export function redisRaw(r: { host: string; port: number; caFile: string }, commands: string[], timeoutMs = 3_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: r.host, port: r.port, ca: readFileSync(r.caFile, 'utf8'), servername: 'localhost' });
    let buf = '';
    const timer = setTimeout(() => sock.destroy(new Error(`redis ${r.host}:${r.port}: no reply within ${timeoutMs} ms (got ${JSON.stringify(buf)})`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(buf.split('\r\n').filter(Boolean));
    };
    sock.setEncoding('utf8');
    sock.once('secureConnect', () => sock.write(commands.map((c) => `${c}\r\n`).join('')));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.split('\r\n').filter(Boolean).length >= commands.length) finish();
    });
    sock.once('error', (e) => finish(e));
    sock.once('close', () => finish(buf ? undefined : new Error(`redis ${r.host}:${r.port}: connection closed without a reply`)));
  });
}

/** AUTH + PING over TLS; true when the server answers +OK, +PONG, else rejects with its reply. */
export async function redisPing(r: { host: string; port: number; password: string; caFile: string }): Promise<boolean> {
  const replies = await redisRaw(r, [`AUTH ${r.password}`, 'PING']);
  if (replies[0] === '+OK' && replies[1] === '+PONG') return true;
  throw new Error(`redis replied ${JSON.stringify(replies)}`);
}

export async function startRedis(opts: RedisOptions): Promise<SandboxRedis> {
  const bin = requireBinary('redis-server', 'install it with: apt-get install -y redis-server (Debian 12 ships 7.0 with TLS)');
  const dir = opts.dir;
  const logDir = opts.logDir ?? join(dir, 'logs');
  mkdirSync(dir, { recursive: true });
  const ca = opts.ca ?? (await createCA(join(dir, 'pki')));
  const cert = await issueCert(ca, dir, 'redis', { dns: ['localhost', '*.cache.amazonaws.com'], ips: ['127.0.0.1'] });
  const password = opts.password ?? randomBytes(18).toString('hex');
  return onFreePort('redis', logDir, opts.port, async (port) => {
    const conf = join(dir, 'redis.conf');
    writeFileSync(
      conf,
      [
        'bind 127.0.0.1',
        'protected-mode yes',
        'port 0', // no plaintext listener at all
        `tls-port ${port}`,
        `tls-cert-file ${cert.certFile}`,
        `tls-key-file ${cert.keyFile}`,
        `tls-ca-cert-file ${ca.certFile}`,
        'tls-auth-clients no',
        `requirepass ${password}`,
        'save ""',
        'appendonly no',
        `dir ${dir}`,
        'daemonize no',
        'logfile ""',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const r = { host: '127.0.0.1', port, password, caFile: ca.certFile };
    const launch = async (): Promise<Proc> => {
      const proc = spawnLogged({ name: 'redis', cmd: bin, args: [conf], logDir });
      try {
        await waitFor('redis-server TLS PING', () => redisPing(r), { timeoutMs: 20_000, intervalMs: 100, proc });
        return proc;
      } catch (err) {
        await proc.stop();
        throw err;
      }
    };
    const proc = await launch();
    const part = restartable('redis', proc, launch);
    return { ...r, proc, part, stop: () => part.stop() };
  });
}
