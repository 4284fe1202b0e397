import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import type { Engine } from '../../engine/index.ts';
import { type SpecParseResult, specOrThrow } from '../../fleets/parse.ts';
import type { Client } from '../client.ts';

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

/** `nightshift swarm` runs on the engine of this process: another process owning the home must be stopped first. */
export function engineOf(client: Client): Engine {
  if (!client.engine) {
    throw new NightshiftError(
      'HOME_LOCKED',
      'another Nightshift process owns this home, and `nightshift swarm` needs the engine in this process',
      {
        hint: 'stop that process and run the swarm again (fleet and automations commands work through it)',
      },
    );
  }
  return client.engine;
}
