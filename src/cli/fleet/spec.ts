import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatProblem } from '../../blueprints/problems.ts';
import { NightshiftError } from '../../core/errors.ts';
import type { Engine } from '../../engine/index.ts';
import type { SpecParseResult } from '../../fleets/parse.ts';
import type { Client } from '../client.ts';

/** Reads and parses a spec file; every problem is reported at once, as `file:line:col path: message`. */
export async function readSpec<T>(
  file: string,
  parse: (text: string) => SpecParseResult<T>,
): Promise<{ spec: T; dir: string }> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new NightshiftError('INVALID_INPUT', `cannot read ${file}: ${error.code ?? error.message}`, {
      hint: 'give the path of a spec file (YAML)',
    });
  });
  const { spec, errors } = parse(text);
  if (!spec) {
    throw new NightshiftError(
      'INVALID_INPUT',
      `${file} is not valid:\n${errors.map((p) => `  ${formatProblem(p, file)}`).join('\n')}`,
      {
        hint: 'see docs/fleets.md for the spec reference (schemas/fleet.schema.json for editors)',
      },
    );
  }
  return { spec, dir: dirname(path) };
}

/** Fleet commands run on the engine of this process: another process owning the home must be stopped first. */
export function engineOf(client: Client): Engine {
  if (!client.engine) {
    throw new NightshiftError(
      'HOME_LOCKED',
      'another Nightshift process owns this home, and fleet commands need the engine here',
      {
        hint: 'stop that process (or use PostgreSQL with DATABASE_URL, where several processes share the database)',
      },
    );
  }
  return client.engine;
}
