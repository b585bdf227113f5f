// Code-side checks of a TfeCluster spec against ./schema.ts: types, required fields,
// enums, patterns and ranges, with the same messages the API server gives.
//
// The API server is the first line (it also runs the cross-field CEL rules, which only it
// evaluates). This is for specs that did not come through it, or came through an older
// CRD: the controller turns the result into a Validated=False condition instead of acting.

import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { TfeClusterSpecSchema } from './schema.ts';
import { parseDuration, specWithDefaults } from './defaults.ts';

if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
}

export interface SpecProblem {
  /** Field path, e.g. spec.redis.elastiCache.port */
  path: string;
  message: string;
}

function fieldPath(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return ['spec', ...parts].reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`));
}

/** Error kinds that the schema's `errorMessage` describes (the ones ./crd.ts turns into its CEL rule). */
const MESSAGE_KINDS = new Set<ValueErrorType>([
  ValueErrorType.StringPattern,
  ValueErrorType.StringMinLength,
  ValueErrorType.IntegerMinimum,
  ValueErrorType.IntegerMaximum,
  ValueErrorType.NumberMinimum,
  ValueErrorType.NumberMaximum,
]);

function describe(error: ValueError): string {
  const schema = error.schema as TSchema & { errorMessage?: string };
  const path = fieldPath(error.path);
  if (error.type === ValueErrorType.ObjectRequiredProperty || (error.value === undefined && error.type !== ValueErrorType.Union)) {
    return `${path} is required`;
  }
  if (schema.errorMessage && MESSAGE_KINDS.has(error.type)) return schema.errorMessage;
  if (error.type === ValueErrorType.Union && Array.isArray(schema.anyOf) && schema.anyOf.every((s: TSchema) => 'const' in s)) {
    return `${path}: unsupported value ${JSON.stringify(error.value)}: supported values: ${schema.anyOf.map((s: TSchema) => JSON.stringify(s.const)).join(', ')}`;
  }
  return `${path}: ${error.message}`;
}

/**
 * Problems in `spec` (defaults applied first), one per field, in schema order.
 * An empty list means the spec passes every check that does not need the API server.
 */
export function checkSpec(spec: unknown): SpecProblem[] {
  const withDefaults = specWithDefaults(spec);
  const seen = new Set<string>();
  const problems: SpecProblem[] = [];
  const add = (path: string, message: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    problems.push({ path, message });
  };
  for (const error of Value.Errors(TfeClusterSpecSchema, withDefaults)) {
    // A union of literals reports once for the union and once per member: keep the first.
    add(fieldPath(error.path), describe(error));
  }
  // Duration bounds (on the API server, a CEL rule beside the pattern).
  walk(TfeClusterSpecSchema, withDefaults, '', (schema, value, pointer) => {
    const s = schema as { durationMin?: string; durationMax?: string };
    if (s.durationMin === undefined || typeof value !== 'string') return;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      return; // the pattern error was reported above
    }
    if (ms < parseDuration(s.durationMin) || ms > parseDuration(s.durationMax!)) {
      add(fieldPath(pointer), `${fieldPath(pointer)} must be between ${s.durationMin} and ${s.durationMax}`);
    }
  });
  return problems;
}

function walk(schema: TSchema, value: unknown, pointer: string, visit: (s: TSchema, v: unknown, p: string) => void) {
  visit(schema, value, pointer);
  if (schema.type === 'object' && schema.properties && value && typeof value === 'object') {
    for (const [k, sub] of Object.entries(schema.properties as Record<string, TSchema>)) {
      walk(sub, (value as Record<string, unknown>)[k], `${pointer}/${k}`, visit);
    }
  } else if (schema.type === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => walk(schema.items as TSchema, v, `${pointer}/${i}`, visit));
  }
}
