// A moto of a test file's own (our launcher, a free port, a temporary folder) and SDK clients
// made for it: started by start() in the file's before(), stopped and removed after the file's
// tests. Call ownMoto() at the top level of a test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { startMoto, type Moto } from '../sandbox/moto.ts';
import { awsClientConfig } from '../sandbox/world.ts';

type ClientConfig = ReturnType<typeof awsClientConfig>;

export interface OwnMoto {
  start(): Promise<{ moto: Moto; dir: string }>;
  /** An SDK client for this moto, destroyed after the file. */
  client<T extends { destroy(): void }>(Client: new (cfg: ClientConfig) => T): T;
}

export function ownMoto(prefix: string): OwnMoto {
  const clients: Array<{ destroy(): void }> = [];
  let state: { moto: Moto; dir: string } | undefined;
  after(async () => {
    for (const c of clients) c.destroy();
    await state?.moto.stop();
    if (state) rmSync(state.dir, { recursive: true, force: true });
  });
  return {
    async start() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      state = { dir, moto: await startMoto({ dir }) };
      return state;
    },
    client(Client) {
      if (!state) throw new Error('ownMoto: start() it first');
      const c = new Client(awsClientConfig(state.moto.endpoint));
      clients.push(c);
      return c;
    },
  };
}
