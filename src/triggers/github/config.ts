import { join } from 'node:path';
import { formatProblem, type Problem, problemAt } from '../../blueprints/problems.ts';
import { parseYamlSource, readOptionalFile } from '../../blueprints/yaml-source.ts';
import { describeValue, validateWithSchema } from '../../blueprints/zod-problems.ts';
import { NightshiftError } from '../../core/errors.ts';
import { DEFAULT_REACTIONS, GithubConfigFile, type GithubReactions } from './schema.ts';

/** Where a repo keeps its GitHub reactions, in its default branch. */
export const REPO_CONFIG_PATH = '.nightshift/github.yml';

/**
 * Parses a GitHub reactions file: every problem with its dot-path, line and column
 * (`review.on[0]: expected one of ...`). Never throws for bad input.
 */
export function parseGithubConfig(text: string): { config?: GithubConfigFile; errors: Problem[] } {
  const yaml = parseYamlSource(text);
  if (yaml.errors.length > 0) return { errors: yaml.errors };
  const data = yaml.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      errors: [problemAt([], `expected a mapping of reactions, got ${describeValue(data)}`, yaml.locate)],
    };
  }
  const { value, problems } = validateWithSchema(GithubConfigFile, data, { locate: yaml.locate });
  return value ? { config: value, errors: [] } : { errors: problems };
}

/** A GitHub reactions file with errors; the message lists each as `file:line:col path: message`. */
export class GithubConfigInvalidError extends NightshiftError {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    const lines = problems.map((problem) => `  ${formatProblem(problem, file)}`);
    super('INVALID_INPUT', `GitHub reactions file ${file} is invalid:\n${lines.join('\n')}`, {
      hint: 'fix the problems above; docs/github.md describes the file',
    });
    this.name = 'GithubConfigInvalidError';
  }
}

/** Parses `text` from `file` or throws a GithubConfigInvalidError. */
export function parseGithubConfigOrThrow(text: string, file: string): GithubConfigFile {
  const { config, errors } = parseGithubConfig(text);
  if (!config) throw new GithubConfigInvalidError(file, errors);
  return config;
}

/** The server-wide defaults in `$NIGHTSHIFT_HOME/github.yml` (empty when there is no file). */
export async function loadServerGithubConfig(home: string): Promise<GithubConfigFile> {
  const file = join(home, 'github.yml');
  const text = await readOptionalFile(
    file,
    (error) =>
      new NightshiftError('INVALID_INPUT', `cannot read ${file}: ${error.message}`, { cause: error }),
  );
  return text === undefined ? {} : parseGithubConfigOrThrow(text, file);
}

/** Built-in defaults, then the server's file, then the repo's file, per reaction and key. */
export function effectiveReactions(server: GithubConfigFile, repo: GithubConfigFile = {}): GithubReactions {
  const merged = { ...DEFAULT_REACTIONS };
  for (const key of ['comment', 'label', 'review', 'ci_fix'] as const) {
    merged[key] = { ...DEFAULT_REACTIONS[key], ...server[key], ...repo[key] } as never;
  }
  merged.repos = server.repos ?? [];
  return merged;
}
