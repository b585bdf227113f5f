// Builds the CustomResourceDefinition of TfeCluster from ./schema.ts.
// `npm run gen:crd` (make crds) writes it to crds/; src/api/crd.test.ts checks the
// committed file is what this produces.

import { stringify } from 'yaml';
import {
  API_VERSION,
  CRD_FILE,
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  TfeClusterSchema,
  VERSION,
  celRegex,
  type CelRule,
} from './schema.ts';

export type JsonSchemaProps = Record<string, unknown>;

/** Keys of apiextensions.k8s.io/v1 JSONSchemaProps that the generated schema may use. */
const STRUCTURAL_KEYS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'default',
  'enum',
  'format',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'nullable',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
]);

/** Our own annotations in ./schema.ts, consumed here and by ./validate.ts; never emitted. */
const OWN_KEYS = new Set(['errorMessage', 'durationMin', 'durationMax']);

/** TypeBox keys that carry no meaning for the API server. */
const DROPPED_KEYS = new Set(['$id', '$schema', 'additionalProperties', 'const', 'anyOf']);

function fail(path: string, msg: string): never {
  throw new Error(`schema ${path || '<root>'}: ${msg}`);
}

/** Turns `pattern`/`minLength`/`minimum`/`maximum` + `errorMessage` into one CEL rule. */
function messageRule(node: Record<string, unknown>, path: string): { rule?: CelRule; consumed: string[] } {
  const message = node.errorMessage;
  if (message === undefined) return { consumed: [] };
  if (typeof message !== 'string') fail(path, 'errorMessage must be a string');
  const parts: string[] = [];
  const consumed: string[] = [];
  if (node.minLength !== undefined) {
    parts.push(`size(self) >= ${node.minLength}`);
    consumed.push('minLength');
  }
  if (node.pattern !== undefined) {
    parts.push(`self.matches(${celRegex(String(node.pattern))})`);
    consumed.push('pattern');
  }
  if (node.minimum !== undefined) {
    parts.push(`self >= ${node.minimum}`);
    consumed.push('minimum');
  }
  if (node.maximum !== undefined) {
    parts.push(`self <= ${node.maximum}`);
    consumed.push('maximum');
  }
  if (parts.length === 0) fail(path, 'errorMessage without pattern, minLength, minimum or maximum');
  return { rule: { rule: parts.join(' && '), message }, consumed };
}

/** Enum values when `node` is a TypeBox literal or a union of literals, else undefined. */
function literalValues(node: Record<string, unknown>): unknown[] | undefined {
  if ('const' in node) return [node.const];
  if (Array.isArray(node.anyOf) && node.anyOf.every((s) => s && typeof s === 'object' && 'const' in s)) {
    return (node.anyOf as Array<{ const: unknown }>).map((s) => s.const);
  }
  return undefined;
}

/**
 * Converts a TypeBox schema into a structural apiextensions.k8s.io/v1 schema:
 * literal unions become `enum`, `errorMessage` constraints become CEL rules, TypeBox-only
 * keys go away, and any key the API server would not accept is an error (not dropped).
 */
export function toStructural(schema: unknown, path = ''): JsonSchemaProps {
  if (!schema || typeof schema !== 'object') fail(path, 'not an object');
  const node = schema as Record<string, unknown>; // Object.keys() skips TypeBox's symbol keys
  const out: JsonSchemaProps = {};

  const values = literalValues(node);
  if (values) {
    const types = new Set(values.map((v) => typeof v));
    if (types.size !== 1) fail(path, 'enum of mixed types');
    const t = [...types][0];
    out.type = t === 'number' ? 'number' : t;
    out.enum = values;
  } else if (node.anyOf || node.oneOf || node.allOf || node.not) {
    fail(path, 'anyOf/oneOf/allOf/not other than a union of literals is not structural; restructure the schema');
  }

  const { rule, consumed } = messageRule(node, path);
  for (const [key, value] of Object.entries(node)) {
    if (OWN_KEYS.has(key) || DROPPED_KEYS.has(key) || consumed.includes(key)) continue;
    if (key === 'type' && out.type) continue;
    if (!STRUCTURAL_KEYS.has(key)) fail(path, `key ${JSON.stringify(key)} is not allowed in a CRD schema`);
    switch (key) {
      case 'properties': {
        const props: Record<string, JsonSchemaProps> = {};
        for (const [name, sub] of Object.entries(value as Record<string, unknown>)) {
          props[name] = toStructural(sub, `${path}.${name}`);
        }
        out.properties = props;
        break;
      }
      case 'items':
        out.items = toStructural(value, `${path}[]`);
        break;
      case 'required': {
        // A property with a default is filled in by the API server: not required of users.
        const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
        const required = (value as string[]).filter((name) => props[name]?.default === undefined);
        if (required.length) out.required = required;
        break;
      }
      case 'x-kubernetes-validations':
        break; // appended below, after the rule made from errorMessage
      default:
        out[key] = structuredClone(value);
    }
  }
  if (node.type === 'object' && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    fail(path, 'additionalProperties other than false is not used in this API');
  }
  if (!out.type) fail(path, 'no type');

  const rules = [...(rule ? [rule] : []), ...((node['x-kubernetes-validations'] as CelRule[] | undefined) ?? [])];
  if (rules.length) out['x-kubernetes-validations'] = rules.map((r) => ({ ...r }));
  return ordered(out);
}

/** A fixed key order, so the YAML reads top-down: what it is, then constraints, then children. */
const KEY_ORDER = [
  'description', 'type', 'format', 'enum', 'default', 'nullable',
  'minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
  'required', 'properties', 'items', 'x-kubernetes-validations',
];

function ordered(node: JsonSchemaProps): JsonSchemaProps {
  const out: JsonSchemaProps = {};
  for (const key of KEY_ORDER) if (key in node) out[key] = node[key];
  for (const key of Object.keys(node)) if (!(key in out)) fail('', `no position for key ${key}`);
  return out;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export const PRINTER_COLUMNS: PrinterColumn[] = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Overall phase.' },
  { name: 'Step', type: 'string', jsonPath: '.status.step', description: 'Step in progress.' },
  { name: 'Ready', type: 'integer', jsonPath: '.status.nodes.ready', description: 'Healthy TFE nodes.' },
  { name: 'Desired', type: 'integer', jsonPath: '.spec.nodes', description: 'Requested TFE nodes.' },
  { name: 'Redis', type: 'string', jsonPath: '.status.redis.endpoint', description: 'Redis endpoint in use.' },
  { name: 'Install', type: 'string', jsonPath: '.spec.install', description: 'Replicated or Docker (FDO).', priority: 1 },
  { name: 'Release', type: 'integer', jsonPath: '.spec.release.sequence', description: 'TFE release sequence (Replicated).', priority: 1 },
  { name: 'Tag', type: 'string', jsonPath: '.spec.release.tag', description: 'TFE image tag (Docker).', priority: 1 },
  { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'What is happening.', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export function buildCrd(): Record<string, unknown> {
  const openAPIV3Schema = toStructural(TfeClusterSchema);
  // `metadata` must stay a bare object: the API server owns its schema.
  (openAPIV3Schema.properties as Record<string, JsonSchemaProps>).metadata = { type: 'object' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'tfe-operator', 'app.kubernetes.io/part-of': 'tfe-operator' },
    },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

export function renderCrdYaml(): string {
  const header =
    `# ${KIND} (${API_VERSION}). Generated from src/api/schema.ts by \`make crds\` (npm run gen:crd).\n` +
    '# Do not edit by hand: src/api/crd.test.ts fails when this file and the source differ.\n';
  return header + stringify(buildCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}

export { CRD_FILE };
