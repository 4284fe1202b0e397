import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { type SpecParseResult, specOrThrow } from '../../fleets/parse.ts';

/** Reads and parses a spec file; every problem is reported at once, as `file:line:col path: message`. */
export async function readSpec<T>(
  file: string,
  parse: (text: string) => SpecParseResult<T>,
): Promise<{ spec: T; dir: string; text: string }> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new NightshiftError('INVALID_INPUT', `cannot read ${file}: ${error.code ?? error.message}`, {
      hint: 'give the path of a spec file (YAML)',
    });
  });
  const spec = specOrThrow(parse, text, file);
  return { spec, dir: dirname(path), text };
}
