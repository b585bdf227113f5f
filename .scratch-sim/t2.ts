import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
const ca = readFileSync('/tmp/rx/ca.crt', 'utf8');
async function tryit(name: string, o: any, auth?: string) {
  const t0 = Date.now();
  const r = new Redis({ host: '127.0.0.1', port: 16390, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false, ...o });
  let first: string | undefined;
  r.on('error', (e) => { first ??= e.message; });
  try { await r.connect(); if (auth) await r.call('AUTH', auth); const p = await r.ping(); console.log(name, 'OK', p, Date.now()-t0); }
  catch (e: any) { console.log(name, 'FAIL', JSON.stringify(e.message), first, Date.now()-t0); }
  finally { r.disconnect(); }
}
await tryit('good', { tls: { ca } }, 's3cret');
await tryit('wrongpw', { tls: { ca } }, 'nope');
await tryit('nopw', { tls: { ca } });
await tryit('notls', { }, 's3cret');
await tryit('tls-on-plain', { port: 16391, tls: { ca } }, 's3cret');
await tryit('pw-on-nopw', { port: 16391 }, 's3cret');
