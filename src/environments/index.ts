/** Environments: how a sandbox is prepared for a repo. Format reference: docs/environments.md. */
export { commandsOf, parseDevcontainer, shellQuote } from './devcontainer.ts';
export { EnvironmentInvalidError, type LoadedEnvironment, loadEnvironment } from './load.ts';
export { type EnvironmentParseResult, parseEnvironmentFile } from './parse.ts';
export * from './schema.ts';
export * from './types.ts';
