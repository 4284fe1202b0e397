import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NightshiftError } from '../core/errors.ts';
import { BUILTIN_BLUEPRINTS } from './builtin/index.ts';
import { parseBlueprint } from './parse.ts';
import { formatProblem, type Problem, suggest } from './problems.ts';
import type { Blueprint } from './types.ts';

/** A blueprint file (or built-in) that has errors; `problems` holds every one of them. */
export class BlueprintInvalidError extends NightshiftError {
  readonly problems: Problem[];
  readonly file: string;

  constructor(file: string, problems: Problem[]) {
    const lines = problems.map((problem) => `  ${formatProblem(problem, file)}`);
    super('BLUEPRINT_INVALID', `blueprint ${file} is invalid:\n${lines.join('\n')}`, {
      hint: 'fix the problems above; docs/blueprints.md describes the format',
    });
    this.name = 'BlueprintInvalidError';
    this.file = file;
    this.problems = problems;
  }
}

/** A loaded blueprint and the warnings its file produced. */
export interface LoadedBlueprint {
  blueprint: Blueprint;
  warnings: Problem[];
}

/** Names of the built-in blueprints. */
export function builtinBlueprintNames(): string[] {
  return Object.keys(BUILTIN_BLUEPRINTS);
}

/**
 * Loads a built-in blueprint by name (`default`, `script`) or a YAML file by path, relative
 * to `cwd`. Throws BLUEPRINT_NOT_FOUND for an unknown name or a missing file, and a
 * `BlueprintInvalidError` (BLUEPRINT_INVALID) listing every problem for an invalid file.
 *
 * @example
 * const { blueprint } = await loadBlueprint('.nightshift/fix-lint.yml', { cwd: process.cwd() });
 */
export async function loadBlueprint(nameOrFile: string, options: { cwd: string }): Promise<LoadedBlueprint> {
  const builtin = Object.hasOwn(BUILTIN_BLUEPRINTS, nameOrFile) ? BUILTIN_BLUEPRINTS[nameOrFile] : undefined;
  if (builtin !== undefined) return parseOrThrow(builtin, `builtin:${nameOrFile}`, nameOrFile);

  const path = resolve(options.cwd, nameOrFile);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new NightshiftError(
        'BLUEPRINT_NOT_FOUND',
        `cannot read blueprint file ${nameOrFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const names = builtinBlueprintNames();
    const close = suggest(nameOrFile, names);
    const looksLikeFile = /[/\\]|\.(ya?ml|json)$/i.test(nameOrFile);
    const message = looksLikeFile
      ? `blueprint file ${nameOrFile} does not exist (looked in ${path})`
      : `unknown blueprint \`${nameOrFile}\`${close ? ` (did you mean \`${close}\`?)` : ''}`;
    throw new NightshiftError('BLUEPRINT_NOT_FOUND', message, {
      hint: `use a built-in blueprint (${names.join(', ')}) or the path to a blueprint YAML file`,
      cause: error,
    });
  }
  return parseOrThrow(text, path, nameOrFile);
}

function parseOrThrow(text: string, source: string, shownAs: string): LoadedBlueprint {
  const { blueprint, errors, warnings } = parseBlueprint(text, { source });
  if (!blueprint || errors.length > 0) throw new BlueprintInvalidError(shownAs, errors);
  return { blueprint, warnings };
}
