import { join } from 'node:path';

export { type InstalledTool, type InstallOptions, installedTool, installTool, toolPath } from './install.ts';
export { acquireDirLock } from './lock.ts';

/** The tools cache: `NIGHTSHIFT_TOOLS_DIR`, else `$NIGHTSHIFT_HOME/tools`. */
export function toolsDir(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NIGHTSHIFT_TOOLS_DIR || join(home, 'tools');
}
