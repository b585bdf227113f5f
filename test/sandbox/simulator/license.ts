// The sandbox license: a binary file with a checksum, as a real Replicated `.rli` is binary
// (a signed archive) and not text. The install.sh stand-in (standins/replicated/install.sh)
// verifies it with coreutils alone, so one byte added, lost or changed anywhere (a newline
// from `aws ... --output text`, a UTF-8 round trip of the 0xff byte) makes the node refuse it.
//
// Layout (all lengths in bytes):
//   0  8   magic  89 54 46 45 53 42 58 1a  ("\x89TFESBX\x1a", not valid UTF-8)
//   8  1   format version, 01
//   9  4   payload length N, big-endian
//   13 N   payload: UTF-8 JSON { license_id, customer, seats }
//   .. 16  signature stand-in: random bytes, the first one 0xff
//   .. 32  SHA-256 of every byte before it

import { createHash, randomBytes } from 'node:crypto';

export const LICENSE_MAGIC = Buffer.from([0x89, 0x54, 0x46, 0x45, 0x53, 0x42, 0x58, 0x1a]);
const HEADER = 13;
const SIG = 16;
const SUM = 32;

export interface LicensePayload {
  license_id: string;
  customer: string;
  seats: string;
}

/** A valid sandbox license. `seed` makes the signature bytes repeatable (worlds are seeded). */
export function makeLicense(payload: LicensePayload, seed?: string): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const head = Buffer.alloc(HEADER);
  LICENSE_MAGIC.copy(head, 0);
  head[8] = 1;
  head.writeUInt32BE(body.length, 9);
  const sig = seed === undefined ? randomBytes(SIG) : createHash('sha256').update(`sig:${seed}`).digest().subarray(0, SIG);
  sig[0] = 0xff;
  const unsummed = Buffer.concat([head, body, sig]);
  return Buffer.concat([unsummed, createHash('sha256').update(unsummed).digest()]);
}

/** Why these bytes are not a valid sandbox license, or undefined when they are. */
export function licenseProblem(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes);
  if (b.length < HEADER + SIG + SUM) return `${b.length} bytes is too short for a license`;
  if (!b.subarray(0, 8).equals(LICENSE_MAGIC)) return 'not a license file (bad magic bytes)';
  const n = b.readUInt32BE(9);
  const want = HEADER + n + SIG + SUM;
  if (b.length !== want) return `license is ${b.length} bytes, its header says ${want}`;
  const sum = createHash('sha256').update(b.subarray(0, b.length - SUM)).digest();
  if (!sum.equals(b.subarray(b.length - SUM))) return 'license checksum does not match';
  return undefined;
}
