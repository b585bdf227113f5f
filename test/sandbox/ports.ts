// Free TCP ports on loopback, picked at run time.
import { createServer } from 'node:net';

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
