import { join } from 'node:path';
import { homePaths } from '../core/home.ts';
import {
  type LoadedAutomations,
  loadAutomationsDir,
  loadRepoAutomations,
  repoAutomationsFile,
} from './load.ts';
import type { AutomationService } from './service.ts';

/** The server-wide automations directory: `NIGHTSHIFT_AUTOMATIONS_DIR`, else `$NIGHTSHIFT_HOME/automations`. */
export function automationsDir(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NIGHTSHIFT_AUTOMATIONS_DIR || join(homePaths(home).home, 'automations');
}

/**
 * Syncs the database with the automation files: the directory's `*.yml` and each repo's
 * `.nightshift/automations.yml`. Validates every file before writing anything, so a broken
 * file changes nothing (AUTOMATION_INVALID lists its problems). Called on server start and
 * by `nightshift automations apply`.
 */
export async function syncAutomations(
  service: AutomationService,
  options: { dir: string; repos?: string[] },
): Promise<{ applied: string[]; removed: string[]; files: LoadedAutomations[] }> {
  const files = await loadAutomationsDir(options.dir);
  const sources = [`${options.dir.replace(/\/+$/, '')}/`];
  for (const repo of options.repos ?? []) {
    const loaded = await loadRepoAutomations(repo);
    if (loaded) files.push(loaded);
    sources.push(repoAutomationsFile(repo));
  }
  return { ...(await service.apply(files, sources)), files };
}
