// Leader election configuration: resolved by small pure functions from explicit input and
// the environment, validated once, then frozen. Nothing here does I/O except reading the
// service account namespace file when no namespace was given.

import { parseDuration } from '../api/defaults.ts';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
export const DEFAULT_LEASE_PREFIX = 'tfe-operator';
export const DEFAULT_STATUS_PORT = 8080;

/** client-go's JitterFactor: renewDeadline must exceed retryPeriod by this factor. */
export const RENEW_RETRY_FACTOR = 1.2;

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface HaConfig {
  /** Unique identity of this replica (Lease holderIdentity). */
  readonly identity: string;
  /** Base URL of this replica's status API, as other replicas and clients should reach it. */
  readonly address: string;
  /** Namespace holding the leader Lease and the member Leases. */
  readonly namespace: string;
  /** Leader Lease is `<prefix>-leader`; member Leases are `<prefix>-member-<id>`. */
  readonly leasePrefix: string;
  /** How long followers wait, from the last change they observed, before taking the lock. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps acting without a successful renewal before it stops leading. */
  readonly renewDeadlineMs: number;
  /** Interval between acquire attempts (followers) and renewals (leader). */
  readonly retryPeriodMs: number;
}

export interface HaConfigInput {
  identity?: string;
  address?: string;
  namespace?: string;
  leasePrefix?: string;
  /** Number of milliseconds, or a Go-style duration string ("15s", "500ms", "1m30s"). */
  leaseDuration?: number | string;
  renewDeadline?: number | string;
  retryPeriod?: number | string;
  /** Port of the status API, used to build the default advertised address. */
  statusPort?: number;
}

export class HaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HaConfigError';
  }
}

/** Parses a Go-style duration ("1m30s", "500ms"; the same grammar as the CRD's) or a number of milliseconds. */
export function parseDurationMs(value: number | string, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new HaConfigError(`${field}: ${value} is not a duration`);
    return value;
  }
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  try {
    return parseDuration(s);
  } catch {
    throw new HaConfigError(`${field}: "${value}" is not a duration; use e.g. "15s", "500ms" or "1m30s"`);
  }
}

function fmt(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The timing rules, as in client-go's leaderelection:
 * - leaseDuration > renewDeadline: a leader that cannot renew stops acting (at renewDeadline)
 *   before any follower can consider the lease expired (at leaseDuration).
 * - renewDeadline > 1.2 x retryPeriod: the leader gets more than one renewal attempt
 *   (with jitter) before its deadline.
 * Returns the list of problems (empty when valid).
 */
export function timingProblems(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): string[] {
  const problems: string[] = [];
  for (const [name, v] of [
    ['leaseDuration', leaseDurationMs],
    ['renewDeadline', renewDeadlineMs],
    ['retryPeriod', retryPeriodMs],
  ] as const) {
    if (!(v > 0)) problems.push(`${name} must be greater than 0 (got ${v})`);
  }
  if (leaseDurationMs > 0 && leaseDurationMs < 1000) {
    problems.push(`leaseDuration must be at least 1s (got ${fmt(leaseDurationMs)}): the Lease stores whole seconds`);
  }
  if (problems.length > 0) return problems;
  if (leaseDurationMs <= renewDeadlineMs) {
    problems.push(
      `leaseDuration (${fmt(leaseDurationMs)}) must be greater than renewDeadline (${fmt(renewDeadlineMs)}): ` +
        'a leader that cannot renew must stop acting before another replica may take the lease',
    );
  }
  if (renewDeadlineMs <= RENEW_RETRY_FACTOR * retryPeriodMs) {
    problems.push(
      `renewDeadline (${fmt(renewDeadlineMs)}) must be greater than ${RENEW_RETRY_FACTOR} x retryPeriod ` +
        `(${fmt(RENEW_RETRY_FACTOR * retryPeriodMs)}): the leader needs more than one renewal attempt before its deadline`,
    );
  }
  return problems;
}

/** Kubernetes object names: DNS-1123 subdomain, at most 253 characters (we keep to 63 for labels' sake). */
export function isValidIdentity(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(id);
}

export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const pod = env.POD_NAME?.trim();
  if (pod) return pod;
  return `${hostname()}-${process.pid}`;
}

export function defaultNamespace(env: NodeJS.ProcessEnv = process.env, readFile = readSaNamespace): string {
  const ns = env.POD_NAMESPACE?.trim();
  if (ns) return ns;
  return readFile() ?? 'default';
}

function readSaNamespace(): string | undefined {
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Normalizes an advertised address into a base URL without a trailing slash. */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  if (!/^https?:\/\//i.test(a)) a = `http://${a}`;
  let url: URL;
  try {
    url = new URL(a);
  } catch {
    throw new HaConfigError(`address: "${address}" is not a host[:port] or an http(s) URL`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new HaConfigError(`address: "${address}" must be a base URL (scheme, host, port), without a path`);
  }
  return `${url.protocol}//${url.host}`;
}

export function defaultAddress(port: number, env: NodeJS.ProcessEnv = process.env): string {
  const host = env.POD_IP?.trim() || hostname();
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Resolves and validates the configuration; throws HaConfigError naming every problem. */
export function resolveHaConfig(input: HaConfigInput = {}, env: NodeJS.ProcessEnv = process.env): HaConfig {
  const problems: string[] = [];
  const dur = (v: number | string | undefined, def: number, field: string): number => {
    if (v === undefined) return def;
    try {
      return parseDurationMs(v, field);
    } catch (e) {
      problems.push((e as Error).message);
      return NaN;
    }
  };
  const leaseDurationMs = dur(input.leaseDuration, DEFAULT_LEASE_DURATION_MS, 'leaseDuration');
  const renewDeadlineMs = dur(input.renewDeadline, DEFAULT_RENEW_DEADLINE_MS, 'renewDeadline');
  const retryPeriodMs = dur(input.retryPeriod, DEFAULT_RETRY_PERIOD_MS, 'retryPeriod');
  if (problems.length === 0) problems.push(...timingProblems(leaseDurationMs, renewDeadlineMs, retryPeriodMs));

  const identity = input.identity?.trim() || defaultIdentity(env);
  if (!isValidIdentity(identity)) {
    problems.push(
      `identity "${identity}" must be 1-128 characters of letters, digits, '.', '_' or '-', ` +
        'starting and ending with a letter or digit (set POD_NAME or --identity)',
    );
  }
  const leasePrefix = input.leasePrefix?.trim() || DEFAULT_LEASE_PREFIX;
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(leasePrefix)) {
    problems.push(`leasePrefix "${leasePrefix}" must be a lowercase DNS label of at most 40 characters`);
  }
  let address = '';
  try {
    address = normalizeAddress(input.address?.trim() || defaultAddress(input.statusPort ?? DEFAULT_STATUS_PORT, env));
  } catch (e) {
    problems.push((e as Error).message);
  }
  const namespace = input.namespace?.trim() || defaultNamespace(env);

  if (problems.length > 0) {
    throw new HaConfigError(`invalid leader election configuration: ${problems.join('; ')}`);
  }
  return Object.freeze({
    identity,
    address,
    namespace,
    leasePrefix,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  });
}

export function leaderLeaseName(cfg: Pick<HaConfig, 'leasePrefix'>): string {
  return `${cfg.leasePrefix}-leader`;
}
