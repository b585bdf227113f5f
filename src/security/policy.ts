// The operator-side policy (docs/security.md): a ConfigMap in the operator's own namespace,
// written by whoever installs the operator, that says which AWS roles, regions, Auto Scaling
// Groups and external Redis hosts the TfeClusters of each namespace may use. A TfeCluster
// author cannot change it. Pure: parse and evaluate; reading the ConfigMap is the caller's.

import { parse } from 'yaml';
import type { TfeCluster } from '../api/types.ts';

export const DEFAULT_POLICY_CONFIGMAP = 'tfe-operator-policy';
/** The ConfigMap key holding the policy YAML. */
export const POLICY_KEY = 'policy.yaml';

export interface PolicyRule {
  /** Optional label used in messages; else `rules[<index>]`. */
  name?: string;
  /** TfeCluster namespaces this rule covers: exact names or globs (`team-*`). Required. */
  namespaces: string[];
  /** Allowed spec.aws.roleArn values (globs). Omitted: any, and none. Set: a roleArn is required and must match. */
  roleArns?: string[];
  /** The ExternalId the operator sends with AssumeRole for this rule's TfeClusters. */
  externalId?: string;
  /** Allowed spec.aws.region values (globs). Omitted: any. */
  regions?: string[];
  /** Allowed spec.autoScalingGroupName values (globs). Omitted: any. */
  autoScalingGroups?: string[];
  /** Allowed spec.redis.external.host values (globs, case-insensitive). Omitted: any. `[]`: no external Redis. */
  redisHosts?: string[];
}

export interface Policy {
  rules: PolicyRule[];
}

export type ParsedPolicy = { ok: true; policy: Policy } | { ok: false; error: string };

/** `*` any run of characters, `?` one character; everything else literal. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
}

const LISTS = ['namespaces', 'roleArns', 'regions', 'autoScalingGroups', 'redisHosts'] as const;

export function parsePolicy(text: string): ParsedPolicy {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return { ok: false, error: `not YAML: ${(err as Error).message}` };
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { rules?: unknown }).rules)) return { ok: false, error: 'expected a mapping with a list `rules`' };
  const rules: PolicyRule[] = [];
  for (const [i, r] of ((doc as { rules: unknown[] }).rules).entries()) {
    if (!r || typeof r !== 'object') return { ok: false, error: `rules[${i}] is not a mapping` };
    const rule = r as Record<string, unknown>;
    for (const k of Object.keys(rule)) {
      if (![...LISTS, 'name', 'externalId'].includes(k)) return { ok: false, error: `rules[${i}].${k} is not a policy field (${[...LISTS, 'name', 'externalId'].join(', ')})` };
    }
    for (const k of LISTS) {
      const v = rule[k];
      if (v === undefined && k !== 'namespaces') continue;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return { ok: false, error: `rules[${i}].${k} must be a list of strings` };
    }
    for (const k of ['name', 'externalId'] as const) {
      if (rule[k] !== undefined && typeof rule[k] !== 'string') return { ok: false, error: `rules[${i}].${k} must be a string` };
    }
    if (typeof rule.externalId === 'string' && !/^[\w+=,.@:/-]{2,1224}$/.test(rule.externalId)) {
      return { ok: false, error: `rules[${i}].externalId must be 2..1224 characters of [A-Za-z0-9+=,.@:/_-] (STS AssumeRole ExternalId)` };
    }
    rules.push(rule as unknown as PolicyRule);
  }
  return { ok: true, policy: { rules } };
}

export type PolicyDecision =
  | { allowed: true; rule?: string; externalId?: string }
  | { allowed: false; rule?: string; field: string; message: string };

const ruleLabel = (r: PolicyRule, i: number) => r.name ? `rule "${r.name}"` : `rules[${i}]`;

/** The first rule whose namespaces match the TfeCluster's namespace decides; no rule: refused. */
export function evaluatePolicy(policy: Policy, cluster: Pick<TfeCluster, 'metadata' | 'spec'>, source: string): PolicyDecision {
  const ns = cluster.metadata?.namespace ?? 'default';
  const i = policy.rules.findIndex((r) => r.namespaces.some((p) => globMatch(p, ns)));
  if (i < 0) {
    return { allowed: false, field: 'metadata.namespace', message: `the operator policy (${source}) has no rule for metadata.namespace ${ns}: ask the operator's administrators to add one` };
  }
  const rule = policy.rules[i]!;
  const label = ruleLabel(rule, i);
  const refuse = (field: string, value: string | undefined, allowed: string[]): PolicyDecision => ({
    allowed: false,
    rule: label,
    field,
    message: `${field} ${value === undefined ? '(not set)' : JSON.stringify(value)} is not allowed by the operator policy (${source}, ${label} for namespace ${ns}, which allows ${allowed.length ? allowed.map((a) => JSON.stringify(a)).join(', ') : 'none'}): use an allowed value, or ask the operator's administrators to change the policy`,
  });
  const spec = cluster.spec;
  const roleArn = spec.aws.roleArn;
  if (rule.roleArns && (roleArn === undefined || !rule.roleArns.some((p) => globMatch(p, roleArn)))) return refuse('spec.aws.roleArn', roleArn, rule.roleArns);
  if (rule.regions && !rule.regions.some((p) => globMatch(p, spec.aws.region))) return refuse('spec.aws.region', spec.aws.region, rule.regions);
  if (rule.autoScalingGroups && !rule.autoScalingGroups.some((p) => globMatch(p, spec.autoScalingGroupName))) {
    return refuse('spec.autoScalingGroupName', spec.autoScalingGroupName, rule.autoScalingGroups);
  }
  const host = spec.redis.external?.host;
  if (host !== undefined && rule.redisHosts && !rule.redisHosts.some((p) => globMatch(p, host, true))) return refuse('spec.redis.external.host', host, rule.redisHosts);
  return { allowed: true, rule: label, ...(rule.externalId && roleArn ? { externalId: rule.externalId } : {}) };
}

/**
 * STS names: RoleSessionName `[\w+=,.@-]{2,64}`, SourceIdentity `[\w+=,.@-]{2,64}` (AWS STS
 * AssumeRole API reference). Kubernetes names are DNS labels/subdomains (`[a-z0-9.-]`), so only
 * the `/` between namespace and name needs replacing: `@` is allowed and cannot occur in either.
 * Too long: cut, with a hash of the full name so two long names stay apart.
 */
export function stsName(namespace: string, name: string, hash: (s: string) => string): string {
  const full = `${namespace}@${name}`.replace(/[^\w+=,.@-]/g, '-');
  if (full.length <= 64) return full.length >= 2 ? full : `${full}--`;
  const h = hash(`${namespace}/${name}`).slice(0, 10);
  return `${full.slice(0, 64 - h.length - 1)}-${h}`;
}
