// A real PostgreSQL (Debian's postgresql 15): TLS only (a certificate from the sandbox CA for
// 127.0.0.1, localhost, *.rds.amazonaws.com and *.sandbox.internal), SCRAM passwords, no
// durability (fsync off: a test database). PostgreSQL refuses to run as root, so when we are
// root the cluster is created and run as the unprivileged `nobody` (setpriv), its data dir
// owned by it. Each world's database, user and password are created by ensureDatabase().
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { createCA, issueCert } from "./certs.js";
import { onFreePort } from "./ports.js";
import { run, spawnLogged, waitFor, which } from "./procs.js";
import { restartable } from "./restartable.js";
/**
 * The names the server's certificate carries, for sslmode=verify-full through the simulator's
 * aliases: the private zones the worlds and tests use, and RDS instance endpoints
 * (`<id>.<12 chars>.<region>.rds.amazonaws.com`; moto's are `<id>.aaaaaaaaaa.<region>...`).
 */
export const PG_CERT_NAMES = [
    'localhost',
    '*.sandbox.internal',
    '*.sim.internal',
    ...['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1'].map((r) => `*.aaaaaaaaaa.${r}.rds.amazonaws.com`),
];
/** Debian puts the server binaries in /usr/lib/postgresql/<v>/bin, off PATH. */
export function postgresBin(name) {
    const found = which(name) ?? ['17', '16', '15'].map((v) => `/usr/lib/postgresql/${v}/bin/${name}`).find((p) => existsSync(p));
    if (!found)
        throw new Error(`required program "${name}" not found (PATH or /usr/lib/postgresql/*/bin); install it with: apt-get install -y postgresql`);
    return found;
}
/** As root: run as `nobody` (PostgreSQL refuses root); otherwise as ourselves. */
function unprivileged() {
    if (process.getuid?.() !== 0)
        return undefined;
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
    return { uid, gid, wrap: (cmd, args) => ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', cmd, ...args]] };
}
/** A client for the sandbox server (TLS verified against the sandbox CA). */
export function pgClient(s, user, password, database = 'postgres') {
    return new pg.Client({
        host: s.host,
        port: s.port,
        user,
        password,
        database,
        ssl: { ca: readFileSync(s.caFile, 'utf8'), servername: 'localhost' },
        connectionTimeoutMillis: 3_000,
    });
}
/** SELECT 1 as `user`; resolves true, or rejects with the server's words. */
export async function pgPing(s, user, password, database = 'postgres') {
    const c = pgClient(s, user, password, database);
    c.on('error', () => { });
    try {
        await c.connect();
        await c.query('SELECT 1');
        return true;
    }
    finally {
        await c.end().catch(() => { });
    }
}
export async function startPostgres(opts) {
    const dir = opts.dir;
    const logDir = opts.logDir ?? join(dir, 'logs');
    const data = join(dir, 'data');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const ca = opts.ca ?? (await createCA(join(dir, 'pki')));
    const cert = await issueCert(ca, join(dir, 'pki'), 'postgres', { dns: PG_CERT_NAMES, ips: ['127.0.0.1'] });
    const adminPassword = randomBytes(18).toString('hex');
    const as = unprivileged();
    const own = (p) => as && chownSync(p, as.uid, as.gid);
    if (as)
        searchableUpTo(resolve(dir));
    const cmd = (name, args) => (as ? as.wrap(postgresBin(name), args) : [postgresBin(name), args]);
    // The server reads its key as its own user, 0600.
    const keyFile = join(dir, 'server.key');
    const certFile = join(dir, 'server.crt');
    copyFileSync(cert.keyFile, keyFile);
    copyFileSync(cert.certFile, certFile);
    const pwFile = join(dir, 'admin.pw');
    writeFileSync(pwFile, `${adminPassword}\n`, { mode: 0o600 });
    for (const f of [dir, keyFile, certFile, pwFile])
        own(f);
    // initdb: ~0.5 s; --no-sync since nothing here must survive a crash.
    await run(...cmd('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C.UTF-8']));
    rmSync(pwFile);
    // TLS only over TCP, like an RDS instance with rds.force_ssl: a plain connection is refused.
    writeFileSync(join(data, 'pg_hba.conf'), ['# TYPE DATABASE USER ADDRESS METHOD', 'local all all scram-sha-256', 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
    own(join(data, 'pg_hba.conf'));
    return onFreePort('postgres', logDir, opts.port, async (port) => {
        const s = { host: '127.0.0.1', port, caFile: ca.certFile };
        const args = [
            '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
            '-c', 'ssl=on', '-c', `ssl_cert_file=${certFile}`, '-c', `ssl_key_file=${keyFile}`, '-c', 'ssl_min_protocol_version=TLSv1.2',
            '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
            '-c', 'shared_buffers=16MB', '-c', 'max_connections=200', '-c', 'log_connections=off', '-c', 'logging_collector=off',
        ];
        const launch = async () => {
            const [c, a] = cmd('postgres', args);
            const proc = spawnLogged({ name: 'postgres', cmd: c, args: a, logDir });
            try {
                await waitFor('postgres TLS SELECT 1', () => pgPing(s, 'postgres', adminPassword), { timeoutMs: 20_000, intervalMs: 50, proc });
                return proc;
            }
            catch (err) {
                await proc.stop();
                throw err;
            }
        };
        const proc = await launch();
        const part = restartable('postgres', proc, launch);
        return {
            ...s,
            adminPassword,
            proc,
            part,
            ensureDatabase: (db) => ensureDatabase(s, adminPassword, db),
            stop: () => part.stop(),
        };
    });
}
/**
 * The server's user must reach its data dir: folders of ours on the way (a mkdtemp folder is
 * 0700) get the search bit for others, never the read bit (nobody can list them).
 */
function searchableUpTo(dir) {
    for (let d = dirname(dir);; d = dirname(d)) {
        const st = statSync(d);
        if (st.uid === process.getuid?.() && (st.mode & 0o001) === 0)
            chmodSync(d, (st.mode & 0o7777) | 0o001);
        if (d === dirname(d))
            break;
    }
}
async function ensureDatabase(s, adminPassword, db) {
    const c = pgClient(s, 'postgres', adminPassword);
    c.on('error', () => { });
    await c.connect();
    try {
        const user = c.escapeIdentifier(db.user);
        const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [db.user])).rowCount;
        await c.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${user} LOGIN PASSWORD ${c.escapeLiteral(db.password)}`);
        if (!(await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.dbname])).rowCount) {
            await c.query(`CREATE DATABASE ${c.escapeIdentifier(db.dbname)} OWNER ${user}`);
        }
    }
    finally {
        await c.end().catch(() => { });
    }
}
/** Up and speaking TLS: a login with no valid credentials gets PostgreSQL's own refusal (SQLSTATE class 28). */
export async function pgTlsHandshake(s) {
    try {
        return await pgPing(s, 'sandbox-health-check', 'none');
    }
    catch (err) {
        if (/^28/.test(String(err.code)))
            return true;
        throw err;
    }
}
//# sourceMappingURL=postgres.js.map