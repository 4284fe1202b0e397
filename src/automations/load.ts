import { readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { formatProblem, type Problem } from '../blueprints/problems.ts';
import { readOptionalFile, readRepoFile } from '../blueprints/yaml-source.ts';
import { NightshiftError } from '../core/errors.ts';
import { parseAutomations } from './parse.ts';
import type { Automation } from './types.ts';

/** An automations file with problems; `problems` lists every one, with line and column. */
export class AutomationInvalidError extends NightshiftError {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    const lines = problems.map((problem) => `  ${formatProblem(problem, file)}`);
    super('AUTOMATION_INVALID', `automations file ${file} is invalid:\n${lines.join('\n')}`, {
      hint: 'fix the problems above; docs/automations.md describes the format',
    });
    this.name = 'AutomationInvalidError';
  }
}

/** The automations of one file, with its warnings. */
export interface LoadedAutomations {
  file: string;
  automations: Automation[];
  warnings: Problem[];
}

/** Where a repo keeps its automations. */
export function repoAutomationsFile(repo: string): string {
  return join(repo, '.nightshift', 'automations.yml');
}

/**
 * Loads one automations file; `repo` marks a repo's own file (its automations run on it).
 * Throws AUTOMATION_INVALID listing every problem, or NOT_FOUND when the file is missing.
 */
export async function loadAutomationsFile(
  file: string,
  options: { repo?: string } = {},
): Promise<LoadedAutomations> {
  const text = await readOptionalFile(
    file,
    (error) => new NightshiftError('AUTOMATION_INVALID', `cannot read ${file}: ${error.message}`),
  );
  if (text === undefined) throw new NightshiftError('NOT_FOUND', `automations file ${file} does not exist`);
  return parsedAutomations(text, file, options);
}

/** The automations `text` of `file` holds, or AUTOMATION_INVALID listing every problem. */
function parsedAutomations(text: string, file: string, options: { repo?: string }): LoadedAutomations {
  const { automations, errors, warnings } = parseAutomations(text, {
    source: file,
    cwd: options.repo ?? dirname(file),
    repo: options.repo,
  });
  if (!automations || errors.length > 0) throw new AutomationInvalidError(file, errors);
  return { file, automations, warnings };
}

/** Loads every `*.yml` / `*.yaml` of a directory, in name order; a missing directory has none. */
export async function loadAutomationsDir(dir: string): Promise<LoadedAutomations[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new NightshiftError('AUTOMATION_INVALID', `cannot read ${dir}: ${(error as Error).message}`);
  }
  const files = names.filter((name) => /\.ya?ml$/.test(name)).sort();
  const loaded: LoadedAutomations[] = [];
  for (const name of files) loaded.push(await loadAutomationsFile(join(dir, name)));
  return loaded;
}

/**
 * A repo's `.nightshift/automations.yml`, or nothing when it has none; read once, as a file of
 * the repository (see `readRepoFile`).
 */
export async function loadRepoAutomations(repo: string): Promise<LoadedAutomations | null> {
  const file = repoAutomationsFile(repo);
  const text = readRepoFile(
    repo,
    relative(repo, file),
    (error) => new NightshiftError('AUTOMATION_INVALID', `cannot read ${file}: ${error.message}`),
  );
  return text === undefined ? null : parsedAutomations(text, file, { repo });
}
