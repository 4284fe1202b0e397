export { BUILTIN_POLICY } from './builtin.ts';
export { checkPublish, type HostDecision, hostAllowed, type Violation } from './evaluate.ts';
export { explainPolicy, policyToJson } from './explain.ts';
export { globToRegExp, matchesGlob } from './glob.ts';
export { normalizeHost, parseHostPattern } from './hosts.ts';
export {
  builtinPolicy,
  inspectPolicy,
  type LoadedPolicy,
  loadPolicy,
  type PolicyFiles,
  type PolicyInspection,
  PolicyInvalidError,
  REPO_POLICY_FILE,
  serverPolicyFile,
} from './load.ts';
export { type MergeResult, mergePolicies, narrowPolicy, type PolicyLayers, serverPolicy } from './merge.ts';
export { type PolicyParseResult, type PolicySource, parsePolicy } from './parse.ts';
export { PolicyFile } from './schema.ts';
export * from './types.ts';
export { formatDuration, formatSize, parseSize } from './units.ts';
