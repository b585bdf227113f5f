// Free TCP ports on loopback, picked at run time.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tail } from './procs.ts';

const handedOut = new Set<number>();

function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });
}

/** A port nothing listens on right now. Never returns the same port twice in one process. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await probe(0);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find a free loopback port after 50 tries');
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}

/** Throws a clear error when a fixed port (e.g. the sandbox simulator's 18080) is taken. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  try {
    await probe(port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `${what}: port 127.0.0.1:${port} is not available (${code ?? String(err)}); ` +
        `stop whatever listens there (ss -ltnp 'sport = :${port}') or choose another port`,
    );
  }
}

/**
 * Starts a server on `fixed`, else on a free port. A free port can be taken between the pick
 * and the server's bind: when the server's log (`<logDir>/<name>.log`) says "address already in
 * use", it is tried again on another port (three tries).
 */
export async function onFreePort<T>(name: string, logDir: string, fixed: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = fixed ?? (await freePort());
    try {
      return await start(port);
    } catch (err) {
      if (attempt < 3 && !fixed && /address already in use/i.test(tail(join(logDir, `${name}.log`)))) continue;
      throw err;
    }
  }
}
