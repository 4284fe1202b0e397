import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { NightshiftError } from '../core/errors.ts';
import { globToRegExp } from '../policy/glob.ts';
import { githubProviderOf } from '../scm/index.ts';
import type { ScmProvider } from '../scm/types.ts';
import type { FleetTarget } from './schema.ts';

/** One repo a fleet targets, before it is resolved by the SCM provider. */
export interface TargetRepo {
  /** A path (absolute) or URL. */
  location: string;
  values: Record<string, string>;
  /** Where it came from, for messages: `targets[1].glob`. */
  source: string;
  /**
   * Set for a target that named no repository at all (a glob or an organization's filters
   * matching none, a file listing none): most likely a mistake, reported as the target's problem.
   */
  problem?: { error: string; hint: string };
}

/** The entry standing for a target that named no repository at all. */
function namedNone(location: string, source: string, error: string, hint: string): TargetRepo {
  return { location, values: {}, source, problem: { error, hint } };
}

function absolute(location: string, dir: string): string {
  // `github:OWNER/NAME` is a location too, not a path relative to the spec.
  return /^([a-z][a-z0-9+.-]*:\/\/|github:)/i.test(location) || isAbsolute(location)
    ? location
    : resolve(dir, location);
}

function strings(values: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([key, value]) => [key, String(value)]));
}

/**
 * The repos of a fleet's targets, one at a time (a file or a glob of thousands of repos is
 * never held in memory), relative paths taken from `dir` (the spec file's directory).
 * GitHub targets list the organization's repos through the GitHub provider of `scm`, a page
 * at a time, keeping those that pass the target's filters (topics, name, archived).
 */
export async function* targetRepos(
  targets: readonly FleetTarget[],
  dir: string,
  scm?: ScmProvider,
): AsyncGenerator<TargetRepo> {
  for (const [index, target] of targets.entries()) {
    const where = `targets[${index}]`;
    if ('repos' in target) {
      for (const [i, entry] of target.repos.entries()) {
        const repo = typeof entry === 'string' ? entry : entry.repo;
        const values = typeof entry === 'string' ? {} : strings(entry.values);
        yield { location: absolute(repo, dir), values, source: `${where}.repos[${i}]` };
      }
    } else if ('glob' in target) {
      let found = 0;
      const glob = globFrom(target.glob, dir);
      for await (const path of globDirectories(glob)) {
        found++;
        yield { location: path, values: {}, source: `${where}.glob` };
      }
      if (found === 0) {
        yield namedNone(
          target.glob,
          `${where}.glob`,
          `"${target.glob}" matched no git repository${isAbsolute(target.glob) ? '' : ` under ${glob.base}`}`,
          "the glob is relative to the spec file's directory; a repository is a directory with a .git, or a bare repository",
        );
      }
    } else if ('file' in target) {
      const file = absolute(target.file, dir);
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      let n = 0;
      let listed = 0;
      try {
        for await (const raw of lines) {
          n++;
          const line = raw.replace(/#.*$/, '').trim();
          if (!line) continue;
          listed++;
          yield { location: absolute(line, dir), values: {}, source: `${target.file}:${n}` };
        }
        if (listed === 0) {
          yield namedNone(
            file,
            `${where}.file`,
            `${file} lists no repository`,
            'write one repository path a line',
          );
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
      yield* githubRepos(target.github, `${where}.github`, scm);
    }
  }
}

/**
 * A repository-name filter: a glob (`svc-*`, whole name) or `/regex/flags`; `error` says why
 * the pattern is unusable.
 */
export function nameMatcher(pattern: string): { test: (name: string) => boolean; error?: string } {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (!regex) {
    const glob = globToRegExp(pattern);
    return { test: (name) => glob.test(name) };
  }
  try {
    // `g` and `y` would make each test go on from where the last one ended, skipping names.
    const compiled = new RegExp(regex[1]!, regex[2]!.replace(/[gy]/g, ''));
    return { test: (name) => compiled.test(name) };
  } catch (error) {
    return { test: () => false, error: `not a valid regular expression: ${(error as Error).message}` };
  }
}

/** The repos of an organization that pass the target's filters, listed page by page. */
async function* githubRepos(
  target: Extract<FleetTarget, { github: unknown }>['github'],
  where: string,
  scm: ScmProvider | undefined,
): AsyncGenerator<TargetRepo> {
  const github = githubProviderOf(scm);
  if (!github) {
    throw new NightshiftError(
      'INVALID_INPUT',
      `${where}: GitHub targets (org ${target.org}) need the GitHub provider, and GitHub is not configured`,
      { hint: 'set NIGHTSHIFT_GITHUB_TOKEN or the GitHub App settings (see docs/github.md)' },
    );
  }
  const name = target.name === undefined ? null : nameMatcher(target.name);
  const topics = target.topics ?? [];
  let found = 0;
  for await (const repo of github.api.orgRepos(target.org)) {
    if (repo.archived && !target.archived) continue;
    if (!topics.every((topic) => repo.topics?.includes(topic))) continue;
    if (name && !name.test(repo.name)) continue;
    found++;
    yield { location: `github:${repo.full_name}`, values: {}, source: where };
  }
  if (found === 0) {
    yield namedNone(
      `github:${target.org}`,
      where,
      `no repository of the organization ${target.org} passed the target's filters (topics, name, archived)`,
      "check the filters, and that the GitHub credentials can see the organization's repositories",
    );
  }
}

/** A glob split where its wildcards start: the directory to walk, and what paths below it must match. */
interface GlobWalk {
  base: string;
  pattern: string;
}

/**
 * Where a glob's walk starts: its leading segments without wildcards, taken from `dir` (so
 * `../repos/*` and `/srv/git/*.git` start at that directory, not at `dir` or `/`).
 */
function globFrom(glob: string, dir: string): GlobWalk {
  const segments = glob.split('/');
  let literal = 0;
  while (literal < segments.length - 1 && !/[*?]/.test(segments[literal]!)) literal++;
  const prefix = segments.slice(0, literal).join('/');
  return {
    base: resolve(dir, prefix === '' && isAbsolute(glob) ? '/' : prefix),
    pattern: segments.slice(literal).join('/'),
  };
}

/**
 * Git repositories (a work tree with a `.git`, or a bare repository) whose path below `base`
 * matches `pattern`, sorted per directory.
 */
async function* globDirectories({ base, pattern }: GlobWalk): AsyncGenerator<string> {
  const regex = globToRegExp(pattern);
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

/** A work tree (its `.git` is a directory, or a file for a linked work tree) or a bare repository, as git tells them. */
async function isRepo(path: string): Promise<boolean> {
  const exists = (name: string, directory: boolean) =>
    stat(join(path, name)).then(
      (found) => !directory || found.isDirectory(),
      () => false,
    );
  if (await exists('.git', false)) return true;
  const bare = await Promise.all([exists('HEAD', false), exists('objects', true), exists('refs', true)]);
  return bare.every(Boolean);
}
