/** Blueprints: the steps of a run. Format reference: docs/blueprints.md. */
export { BUILTIN_BLUEPRINTS, DEFAULT_BLUEPRINT, SCRIPT_BLUEPRINT } from './builtin/index.ts';
export { BlueprintInvalidError, builtinBlueprintNames, type LoadedBlueprint, loadBlueprint } from './load.ts';
export { type BlueprintParseResult, parseBlueprint } from './parse.ts';
export { formatPath, formatProblem, type PathSegment, type Problem } from './problems.ts';
export * from './schema.ts';
export {
  availableVariables,
  checkTemplate,
  parseTemplate,
  renderTemplate,
  runTemplateVars,
  TEMPLATE_FILTERS,
  TEMPLATE_VARIABLES,
  type TemplateExpression,
  type TemplateVars,
} from './template.ts';
export * from './types.ts';
