// The operator's HMAC key for fingerprints (src/migration/targets.ts fingerprint()): 32 random
// bytes in a Secret in the operator's own namespace, created once by whichever replica gets
// there first, never shown (not in logs, status, Events or metrics). No TfeCluster author can
// read it, so the fingerprints in status and tags do not let anyone test guesses offline.

import { randomBytes } from 'node:crypto';
import { isConflict, isNotFound, type Kube } from '../kube/client.ts';

export const DEFAULT_FINGERPRINT_KEY_SECRET = 'tfe-operator-fingerprint-key';
export const FINGERPRINT_KEY = 'key';

/** Reads the key; creates the Secret with a new random key when it does not exist yet. */
export async function ensureFingerprintKey(kube: Kube, namespace: string, name: string, create = true): Promise<Buffer> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const s = await kube.core.readNamespacedSecret({ name, namespace });
      const raw = s.data?.[FINGERPRINT_KEY];
      const key = raw === undefined ? undefined : Buffer.from(raw, 'base64');
      if (!key || key.length < 32) throw new Error(`Secret ${namespace}/${name} has no key "${FINGERPRINT_KEY}" of at least 32 bytes: restore it from a backup (with another key every fingerprint in status and tags reads as a changed enc_password)`);
      return key;
    } catch (err) {
      if (!isNotFound(err) || !create) throw err;
    }
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'tfe-operator', 'app.kubernetes.io/component': 'fingerprint-key' } },
          type: 'Opaque',
          immutable: true,
          data: { [FINGERPRINT_KEY]: randomBytes(32).toString('base64') },
        },
      });
    } catch (err) {
      if (!isConflict(err)) throw err; // another replica created it first: read theirs
    }
  }
  throw new Error(`cannot read or create the fingerprint key Secret ${namespace}/${name}`);
}

/** A memoized loader: the first call reads (or creates) the key, later calls reuse it; a failure is retried next time. */
export function fingerprintKeyLoader<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
