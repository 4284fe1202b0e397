export { processAlive, startTimeOf, statFields } from './identity.ts';
export { type RunOptions, type RunResult, runProcess } from './run.ts';
export { HostProcess, Spawner, type SpawnOptions, spawner } from './spawner.ts';
