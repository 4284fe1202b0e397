import { join } from 'node:path';

export { type InstalledTool, type InstallOptions, installedTool, installTool, toolPath } from './install.ts';
export { acquireDirLock } from './lock.ts';

/** Where root keeps agent CLIs: a place the sandbox's own uid can reach (unlike `/root`). */
export const ROOT_TOOLS_DIR = '/var/cache/nightshift/tools';

/**
 * The tools cache: `NIGHTSHIFT_TOOLS_DIR`, else `$NIGHTSHIFT_HOME/tools`, or under root
 * `/var/cache/nightshift/tools` (sandboxes then run as another uid, which cannot enter `/root`).
 */
export function toolsDir(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
  asRoot = process.getuid?.() === 0,
): string {
  return env.NIGHTSHIFT_TOOLS_DIR || (asRoot ? ROOT_TOOLS_DIR : join(home, 'tools'));
}
