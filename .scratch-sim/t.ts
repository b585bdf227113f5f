import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
const ca = readFileSync('/tmp/rx/ca.crt', 'utf8');
async function tryit(name: string, o: any) {
  const t0 = Date.now();
  const r = new Redis({ host: '127.0.0.1', port: 16390, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, ...o });
  const errs: string[] = [];
  r.on('error', (e) => errs.push(e.message));
  try { await r.connect(); const p = await r.ping(); console.log(name, 'OK', p, Date.now()-t0); }
  catch (e: any) { console.log(name, 'FAIL', e.constructor.name, e.code, JSON.stringify(e.message), errs, Date.now()-t0); }
  finally { r.disconnect(); }
}
await tryit('good', { password: 's3cret', tls: { ca } });
await tryit('wrongpw', { password: 'nope', tls: { ca } });
await tryit('nopw', { tls: { ca } });
await tryit('notls', { password: 's3cret' });
await tryit('untrusted', { password: 's3cret', tls: {} });
await tryit('badname', { password: 's3cret', tls: { ca, servername: 'x.cache.amazonaws.com' } });
await tryit('refused', { port: 1, password: 's3cret', tls: { ca } });
await tryit('nxdomain', { host: 'nonexistent.invalid', password: 's3cret', tls: { ca } });
