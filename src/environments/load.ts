import { join } from 'node:path';
import { formatProblem, type Problem } from '../blueprints/problems.ts';
import { readRepoFile } from '../blueprints/yaml-source.ts';
import { NightshiftError } from '../core/errors.ts';
import { parseDevcontainer } from './devcontainer.ts';
import { type EnvironmentParseResult, parseEnvironmentFile } from './parse.ts';
import { type Environment, type EnvironmentSource, emptyEnvironment } from './types.ts';

/** An environment file that has errors; `problems` holds every one of them. */
export class EnvironmentInvalidError extends NightshiftError {
  readonly problems: Problem[];
  readonly file: string;

  constructor(file: string, problems: Problem[]) {
    const lines = problems.map((problem) => `  ${formatProblem(problem, file)}`);
    super('ENVIRONMENT_INVALID', `environment file ${file} is invalid:\n${lines.join('\n')}`, {
      hint: 'fix the problems above; docs/environments.md describes the format',
    });
    this.name = 'EnvironmentInvalidError';
    this.file = file;
    this.problems = problems;
  }
}

/** A repo's environment, which file it came from, and that file's warnings. */
export interface LoadedEnvironment {
  environment: Environment;
  source: EnvironmentSource;
  warnings: Problem[];
}

/** Where an environment may be described, first found wins. */
const CANDIDATES: [Exclude<EnvironmentSource, 'none'>, (text: string) => EnvironmentParseResult][] = [
  ['.nightshift/environment.yml', parseEnvironmentFile],
  ['.nightshift/environment.yaml', parseEnvironmentFile],
  ['.devcontainer/devcontainer.json', parseDevcontainer],
  ['.devcontainer.json', parseDevcontainer],
];

/**
 * Loads how a sandbox is prepared for the repo checked out at `repoDir`: from
 * `.nightshift/environment.yml`, else from the devcontainer, else an empty environment.
 * Throws an `EnvironmentInvalidError` (ENVIRONMENT_INVALID) listing every problem when the
 * file found is invalid.
 *
 * @example
 * const { environment, source } = await loadEnvironment(workspaceDir);
 */
export async function loadEnvironment(repoDir: string): Promise<LoadedEnvironment> {
  for (const [source, parse] of CANDIDATES) {
    const path = join(repoDir, source);
    const text = readRepoFile(
      repoDir,
      source,
      (error) =>
        new NightshiftError('ENVIRONMENT_INVALID', `cannot read ${path}: ${error.message}`, { cause: error }),
    );
    if (text === undefined) continue;
    const { environment, errors, warnings } = parse(text);
    if (!environment || errors.length > 0) throw new EnvironmentInvalidError(source, errors);
    return { environment, source, warnings };
  }
  return { environment: emptyEnvironment(), source: 'none', warnings: [] };
}
