// The TfeCluster API: names, types, schema, defaults, conditions, checks.
export * from './types.ts';
export * from './defaults.ts';
export * from './conditions.ts';
export { checkSpec, type SpecProblem } from './validate.ts';
export { TfeClusterSchema, TfeClusterSpecSchema, TfeClusterStatusSchema, ConditionSchema, DURATION_PATTERN } from './schema.ts';
