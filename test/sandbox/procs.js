// Child processes for the sandbox: each in its own process group, output to a log
// file, readiness polling that fails fast (with the log tail) when the child dies.
import { spawn, execFile } from 'node:child_process';
import { accessSync, appendFileSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
const live = new Set();
let pidFile;
/** Every later spawn appends "<pid> <name> <program>" to this file (so a cleaner can find orphans). */
export function recordPidsIn(file) {
    pidFile = file;
}
/** Finds an executable on PATH (or checks an explicit path). */
export function which(cmd) {
    const candidates = cmd.includes('/') ? [cmd] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, cmd));
    for (const c of candidates) {
        try {
            accessSync(c, constants.X_OK);
            return c;
        }
        catch {
            /* next */
        }
    }
    return undefined;
}
export function requireBinary(cmd, hint) {
    const found = which(cmd);
    if (!found)
        throw new Error(`required program "${cmd}" not found (PATH=${process.env.PATH}); ${hint}`);
    return found;
}
export function pidAlive(pid) {
    try {
        process.kill(pid, 0);
    }
    catch (err) {
        return err.code === 'EPERM';
    }
    // A zombie still answers kill(0); treat it as gone.
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    }
    catch {
        return true;
    }
}
/** True while any process of process group `pgid` exists. */
export function groupAlive(pgid) {
    try {
        process.kill(-pgid, 0);
        return true;
    }
    catch (err) {
        return err.code === 'EPERM';
    }
}
export function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}
function signalGroup(pgid, sig) {
    try {
        process.kill(-pgid, sig);
    }
    catch {
        /* already gone */
    }
}
/**
 * Stops a process we may not have spawned, with everything in its process group:
 * SIGTERM, wait up to timeoutMs, SIGKILL, wait. (If `pid` leads no group, just the process.)
 */
export async function killGroup(pid, timeoutMs = 10_000) {
    const group = groupAlive(pid);
    const alive = () => (group ? groupAlive(pid) : pidAlive(pid));
    if (!alive())
        return;
    const signal = (sig) => (group ? signalGroup(pid, sig) : signalPid(pid, sig));
    signal('SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (!alive())
            return;
        await sleep(50);
    }
    signal('SIGKILL');
    const hard = Date.now() + 5_000;
    while (Date.now() < hard) {
        if (!alive())
            return;
        await sleep(50);
    }
    throw new Error(`${group ? 'process group' : 'process'} ${pid} still alive after SIGKILL`);
}
function signalPid(pid, sig) {
    try {
        process.kill(pid, sig);
    }
    catch {
        /* already gone */
    }
}
export function spawnLogged(opts) {
    mkdirSync(opts.logDir, { recursive: true });
    const logFile = join(opts.logDir, `${opts.name}.log`);
    if (opts.cmd.includes('/') && !existsSync(opts.cmd)) {
        throw new Error(`${opts.name}: binary ${opts.cmd} does not exist`);
    }
    const fd = openSync(logFile, 'a');
    appendFileSync(fd, `--- ${new Date().toISOString()} ${opts.cmd} ${opts.args.join(' ')}\n`);
    const child = spawn(opts.cmd, opts.args, {
        detached: true, // own process group: stop() kills everything it forked
        stdio: ['ignore', fd, fd],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
    });
    closeSync(fd);
    let done = false;
    const exited = new Promise((resolve) => {
        child.once('error', (error) => {
            done = true;
            resolve({ code: null, signal: null, error });
        });
        child.once('exit', (code, signal) => {
            done = true;
            resolve({ code, signal });
        });
    });
    const pid = child.pid ?? -1;
    const proc = {
        name: opts.name,
        pid,
        logFile,
        exited,
        alive: () => !done,
        async stop(timeoutMs = 10_000) {
            live.delete(proc);
            if (pid <= 0)
                return;
            signalGroup(pid, 'SIGTERM');
            const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
            await exited;
            clearTimeout(timer);
            // The leader is gone; make sure nothing it forked survives.
            if (groupAlive(pid))
                await killGroup(pid, 2_000);
        },
    };
    exited.then(() => live.delete(proc));
    if (pid > 0) {
        live.add(proc);
        if (pidFile)
            appendFileSync(pidFile, `${pid} ${opts.name} ${basename(opts.cmd)}\n`);
    }
    return proc;
}
/** Last lines of a log file, for error messages. */
export function tail(file, lines = 25) {
    try {
        return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    }
    catch {
        return '(no log)';
    }
}
/** Polls `check` until it returns something truthy. */
export async function waitFor(what, check, opts) {
    const deadline = Date.now() + opts.timeoutMs;
    let lastErr;
    let exit;
    opts.proc?.exited.then((e) => (exit = e));
    for (;;) {
        if (exit && opts.proc) {
            const why = exit.error ? exit.error.message : `code ${exit.code} signal ${exit.signal}`;
            throw new Error(`${what}: ${opts.proc.name} exited (${why}) before it was ready; log ${opts.proc.logFile}:\n${tail(opts.proc.logFile)}`);
        }
        try {
            const v = await check();
            if (v)
                return v;
        }
        catch (err) {
            lastErr = err;
        }
        if (Date.now() > deadline) {
            const last = lastErr ? ` (last error: ${lastErr.message ?? lastErr})` : '';
            const log = opts.proc ? `; log ${opts.proc.logFile}:\n${tail(opts.proc.logFile)}` : '';
            throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${last}${log}`);
        }
        await sleep(opts.intervalMs ?? 100);
    }
}
/** Runs a command to completion; rejects with its output on failure. */
export function run(cmd, args, opts = {}) {
    return new Promise((resolve, reject) => {
        const child = execFile(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) {
                const e = err;
                const msg = e.code === 'ENOENT' ? `program not found: ${cmd}` : `${cmd} ${args.join(' ')} failed: ${err.message.trim()}\n${stderr}`;
                reject(Object.assign(new Error(msg), { stdout, stderr }));
            }
            else
                resolve({ stdout, stderr });
        });
        if (opts.input !== undefined)
            child.stdin?.end(opts.input);
    });
}
/** Best effort, synchronous: SIGKILL every group still running (for process 'exit'). */
export function killAllSync() {
    for (const p of live)
        signalGroup(p.pid, 'SIGKILL');
    live.clear();
}
//# sourceMappingURL=procs.js.map