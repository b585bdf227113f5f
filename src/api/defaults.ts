// Defaults applied in code, from the same `default` annotations the CRD carries
// (./schema.ts). The API server defaults objects on every read and write, so this matters
// for objects built in code (tests, `tfe-operator plan -f file.yaml`) and for objects
// stored under an older CRD, whose defaults appear only once they are written again.

import { Value } from '@sinclair/typebox/value';
import { DURATION_PATTERN, TfeClusterSchema, TfeClusterSpecSchema } from './schema.ts';
import type { TfeCluster, TfeClusterSpec } from './types.ts';

/** A copy of `obj` (a TfeCluster as read from anywhere) with every schema default filled in. */
export function withDefaults(obj: unknown): TfeCluster {
  const copy = structuredClone(obj ?? {}) as Record<string, unknown>;
  if (copy.spec === undefined) copy.spec = {};
  if (copy.metadata === undefined) copy.metadata = {};
  return Value.Default(TfeClusterSchema, copy) as TfeCluster;
}

/** A copy of `spec` with every schema default filled in. */
export function specWithDefaults(spec: unknown): TfeClusterSpec {
  return Value.Default(TfeClusterSpecSchema, structuredClone(spec ?? {})) as TfeClusterSpec;
}

/** The security groups of Redis: spec.network.redisSecurityGroupIds, else the ElastiCache ones. */
export function redisSecurityGroupIds(spec: TfeClusterSpec): string[] {
  return spec.network?.redisSecurityGroupIds ?? spec.redis.elastiCache?.securityGroupIds ?? [];
}

/** The Redis port in use, whichever kind of Redis. */
export function redisPort(spec: TfeClusterSpec): number {
  return spec.redis.elastiCache?.port ?? spec.redis.external?.port ?? 6379;
}

/** Whether the nodes connect to Redis with TLS. */
export function redisUsesTls(spec: TfeClusterSpec): boolean {
  return spec.redis.elastiCache ? spec.redis.elastiCache.transitEncryption !== false : spec.redis.external?.tls !== false;
}

export class InvalidDurationError extends Error {
  constructor(readonly value: string) {
    super(`invalid duration ${JSON.stringify(value)}: use a number and a unit (ms, s, m, h), repeated, e.g. 90s, 15m, 1h30m`);
    this.name = 'InvalidDurationError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Go-style duration (the subset the CRD accepts: ms, s, m, h) to milliseconds: '15m' => 900000. */
export function parseDuration(value: string): number {
  if (typeof value !== 'string' || !DURATION_RE.test(value)) throw new InvalidDurationError(String(value));
  let total = 0;
  for (const [, n, unit] of value.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(n) * UNIT_MS[unit];
  if (!Number.isSafeInteger(total)) throw new InvalidDurationError(value);
  return total;
}

/** Milliseconds to the shortest Go-style duration: 5400000 => '1h30m', 1500 => '1s500ms'. */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`duration must be a non-negative integer of ms, got ${ms}`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
