/** The engine: workers that claim runs from the store and execute their blueprints. */
export { RunAbort } from './abort.ts';
export { currentUser, type EngineConfig, engineConfig } from './config.ts';
export { Engine, type EngineParts, type RunDetails, type RunRequest } from './engine.ts';
export { branchFor, executeRun } from './executor.ts';
export { acquireHomeLock, lockOwner } from './home-lock.ts';
export { type ProvisionDeps, type Provisioned, provision } from './provision.ts';
export { Worker } from './worker.ts';
