// The sandbox license: a binary file with a checksum, as a real Replicated `.rli` is binary
// (a signed archive) and not text. The install.sh stand-in (standins/replicated/install.sh)
// verifies it with coreutils alone, so one byte added, lost or changed anywhere (a newline
// from `aws ... --output text`, a UTF-8 round trip of its 0xff byte) makes the node refuse it.
//
// Layout (all lengths in bytes):
//   0  8   magic  "TFE-SBX" 0x1a
//   8  1   format version, 0x01
//   9  4   payload length N, big-endian
//   13 N   payload: UTF-8 JSON { license_id, customer, seats }
//   .. 16  signature stand-in: random bytes, the first one 0xff
//   .. 64  SHA-256 of every byte before it, in lowercase hex

import { createHash, randomBytes } from 'node:crypto';

export const LICENSE_MAGIC = Buffer.from('TFE-SBX\x1a', 'latin1');
const HEADER = 13;
const SIG = 16;
const SUM = 64;

export interface LicensePayload {
  license_id: string;
  customer: string;
  seats: string;
}

/**
 * A valid sandbox license. `seed` makes the signature bytes repeatable (worlds are seeded).
 * `textSafe` makes the signature printable ASCII, so the license is valid UTF-8 and can travel
 * as a SecretString (the tests that show what text handling does to a license use it); a real
 * one holds a 0xff byte and cannot.
 */
export function makeLicense(payload: LicensePayload, seed?: string, textSafe = false): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const head = Buffer.alloc(HEADER);
  LICENSE_MAGIC.copy(head, 0);
  head[8] = 1;
  head.writeUInt32BE(body.length, 9);
  const sig = seed === undefined ? randomBytes(SIG) : createHash('sha256').update(`sig:${seed}`).digest().subarray(0, SIG);
  if (textSafe) for (let i = 0; i < SIG; i++) sig[i] = 0x41 + (sig[i]! % 26);
  else sig[0] = 0xff;
  const unsummed = Buffer.concat([head, body, sig]);
  return Buffer.concat([unsummed, Buffer.from(createHash('sha256').update(unsummed).digest('hex'), 'latin1')]);
}

/** Why these bytes are not a valid sandbox license, or undefined when they are. */
export function licenseProblem(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes);
  if (b.length < HEADER + SIG + SUM) return `${b.length} bytes is too short for a license`;
  if (!b.subarray(0, 8).equals(LICENSE_MAGIC)) return 'not a license file (bad magic bytes)';
  const n = b.readUInt32BE(9);
  const want = HEADER + n + SIG + SUM;
  if (b.length !== want) return `license is ${b.length} bytes, its header says ${want}`;
  const sum = createHash('sha256').update(b.subarray(0, b.length - SUM)).digest('hex');
  if (sum !== b.subarray(b.length - SUM).toString('latin1')) return 'license checksum does not match';
  return undefined;
}
