import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { NightshiftError } from '../core/errors.ts';
import { globToRegExp } from '../policy/glob.ts';
import type { FleetTarget } from './schema.ts';

/** One repo a fleet targets, before it is resolved by the SCM provider. */
export interface TargetRepo {
  /** A path (absolute) or URL. */
  location: string;
  values: Record<string, string>;
  /** Where it came from, for messages: `targets[1].glob`. */
  source: string;
}

function absolute(location: string, dir: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || isAbsolute(location)
    ? location
    : resolve(dir, location);
}

function strings(values: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([key, value]) => [key, String(value)]));
}

/**
 * The repos of a fleet's targets, one at a time (a file or a glob of thousands of repos is
 * never held in memory), relative paths taken from `dir` (the spec file's directory).
 * GitHub targets need the GitHub provider, which is not part of this build: they fail with a
 * message that says so.
 */
export async function* targetRepos(targets: readonly FleetTarget[], dir: string): AsyncGenerator<TargetRepo> {
  for (const [index, target] of targets.entries()) {
    const where = `targets[${index}]`;
    if ('repos' in target) {
      for (const [i, entry] of target.repos.entries()) {
        const repo = typeof entry === 'string' ? entry : entry.repo;
        const values = typeof entry === 'string' ? {} : strings(entry.values);
        yield { location: absolute(repo, dir), values, source: `${where}.repos[${i}]` };
      }
    } else if ('glob' in target) {
      for await (const path of globDirectories(target.glob, dir)) {
        yield { location: path, values: {}, source: `${where}.glob` };
      }
    } else if ('file' in target) {
      const file = absolute(target.file, dir);
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      let n = 0;
      try {
        for await (const raw of lines) {
          n++;
          const line = raw.replace(/#.*$/, '').trim();
          if (line) yield { location: absolute(line, dir), values: {}, source: `${target.file}:${n}` };
        }
      } catch (error) {
        throw new NightshiftError(
          'INVALID_INPUT',
          `${where}.file: cannot read ${file}: ${(error as Error).message}`,
          {
            hint: 'give a text file with one repository path a line, relative to the spec file',
          },
        );
      }
    } else {
      throw new NightshiftError(
        'INVALID_INPUT',
        `${where}.github: GitHub targets (org ${target.github.org}) need the GitHub provider, which this Nightshift does not have`,
        { hint: 'list the repositories with `repos:`, a `glob:` of local clones, or a `file:` of paths' },
      );
    }
  }
}

/** Git repositories (directories with a `.git`) whose path below `dir` matches `pattern`, sorted per directory. */
async function* globDirectories(pattern: string, dir: string): AsyncGenerator<string> {
  const base = isAbsolute(pattern) ? '/' : dir;
  const regex = globToRegExp(pattern.replace(/^\/+/, ''));
  const deep = pattern.includes('**');
  const maxDepth = deep ? 8 : pattern.replace(/^\/+|\/+$/g, '').split('/').length;
  async function* walk(relative: string, depth: number): AsyncGenerator<string> {
    const names: string[] = [];
    try {
      for await (const entry of await opendir(join(base, relative))) {
        if (entry.isDirectory() && entry.name !== '.git' && entry.name !== 'node_modules')
          names.push(entry.name);
      }
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = relative ? `${relative}/${name}` : name;
      if (regex.test(path) && (await isRepo(join(base, path)))) {
        yield join(base, path);
      } else if (depth + 1 < maxDepth) {
        yield* walk(path, depth + 1);
      }
    }
  }
  yield* walk('', 0);
}

async function isRepo(path: string): Promise<boolean> {
  return stat(join(path, '.git')).then(
    () => true,
    () => false,
  );
}
