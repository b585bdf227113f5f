// metav1.Condition helpers. Conditions are a list-map keyed by `type`. All functions are
// pure: they return a new list and never mutate their input.
//
// lastTransitionTime changes only when `status` changes; reason, message and
// observedGeneration are updated in place.

import type { Condition, ConditionStatus } from './types.ts';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function isConditionFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'False';
}

/**
 * Returns `conditions` with `input` set: a new entry is appended; an existing entry of the
 * same type keeps its position and its lastTransitionTime unless the status changes.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : rfc3339(now),
    ...(input.observedGeneration !== undefined
      ? { observedGeneration: input.observedGeneration }
      : old?.observedGeneration !== undefined
        ? { observedGeneration: old.observedGeneration }
        : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Sets several conditions at once (same rules as setCondition). */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  now: Date = new Date(),
): Condition[] {
  return inputs.reduce<Condition[]>((list, input) => setCondition(list, input, now), [...(conditions ?? [])]);
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** Conditions as a map by type (the list-map view). A later duplicate wins, as on the API server. */
export function conditionsByType(conditions: readonly Condition[] | undefined): Map<string, Condition> {
  return new Map((conditions ?? []).map((c) => [c.type, c]));
}

/**
 * Whether two condition lists say the same thing, ignoring order. Use it to skip a status
 * write that would change nothing.
 */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const ma = conditionsByType(a);
  const mb = conditionsByType(b);
  if (ma.size !== mb.size) return false;
  for (const [type, ca] of ma) {
    const cb = mb.get(type);
    if (
      !cb ||
      ca.status !== cb.status ||
      ca.reason !== cb.reason ||
      ca.message !== cb.message ||
      ca.lastTransitionTime !== cb.lastTransitionTime ||
      ca.observedGeneration !== cb.observedGeneration
    ) {
      return false;
    }
  }
  return true;
}
