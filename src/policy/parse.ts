import { posix } from 'node:path';
import {
  formatPath,
  type Locator,
  type PathSegment,
  type Problem,
  problemAt,
} from '../blueprints/problems.ts';
import { parseYamlSource } from '../blueprints/yaml-source.ts';
import { describeValue, validateWithSchema } from '../blueprints/zod-problems.ts';
import { parseDuration } from '../core/clock.ts';
import { parseHostPattern } from './hosts.ts';
import { PolicyFile } from './schema.ts';
import type {
  ExecutableRule,
  GlobRule,
  HostRule,
  Origin,
  PathRule,
  PolicyLayerKind,
  PolicySpec,
  Sourced,
} from './types.ts';
import { parseSize } from './units.ts';

/** What `parsePolicy` hands back: the normalized file when there are no errors, and every problem. */
export interface PolicyParseResult {
  spec?: PolicySpec;
  errors: Problem[];
  warnings: Problem[];
}

/** Which layer a policy file is, and how its origins name it. */
export interface PolicySource {
  layer: PolicyLayerKind;
  /** The file as origins show it: the server file's path, `.nightshift/policy.yml`. */
  file: string | null;
}

interface Context {
  locate: Locator;
  source: PolicySource;
  errors: Problem[];
  warnings: Problem[];
}

/** Below this, a size was probably written without its unit (`memory: 4096`). */
const SUSPICIOUSLY_SMALL = 1024 * 1024;

/**
 * Parses a policy file from YAML text: parse, normalize, validate. Never throws for bad input;
 * every problem comes back with its dot-path (`network.allow[2]`) and its line and column.
 * The result holds only what the file sets, each value with its origin; `mergePolicies`
 * layers files into the effective `Policy`.
 *
 * @example
 * const { spec, errors } = parsePolicy(text, { layer: 'repo', file: '.nightshift/policy.yml' });
 */
export function parsePolicy(text: string, source: PolicySource): PolicyParseResult {
  const yaml = parseYamlSource(text);
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings: yaml.warnings };
  const data = yaml.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    const message = `expected a mapping with sections such as \`network\` and \`resources\`, got ${describeValue(data)}`;
    return { errors: [problemAt([], message, yaml.locate)], warnings: yaml.warnings };
  }

  const { value, problems } = validateWithSchema(PolicyFile, data, { locate: yaml.locate });
  if (!value) return { errors: problems, warnings: yaml.warnings };
  const ctx: Context = { locate: yaml.locate, source, errors: [], warnings: [...yaml.warnings] };
  const {
    filesystem = {},
    executables = {},
    network = {},
    resources = {},
    budget = {},
    publish = {},
    runs = {},
  } = value;
  const spec: PolicySpec = {
    filesystem: {
      readOnly: paths(filesystem.read_only, ['filesystem', 'read_only'], ctx),
      hidden: paths(filesystem.hidden, ['filesystem', 'hidden'], ctx),
    },
    executables: {
      deny: executables.deny?.map((item, index): ExecutableRule => {
        const at = ['executables', 'deny', index];
        const kind = item.startsWith('/') ? 'path' : 'name';
        return { executable: kind === 'path' ? cleanPath(item) : item, kind, from: origin(at, ctx) };
      }),
      allowExecFrom: paths(executables.allow_exec_from, ['executables', 'allow_exec_from'], ctx),
    },
    network: {
      allow: hosts(network.allow, ['network', 'allow'], ctx),
      deny: hosts(network.deny, ['network', 'deny'], ctx),
    },
    resources: {
      memoryBytes: size(resources.memory, ['resources', 'memory'], ctx),
      pids: sourced(resources.pids, ['resources', 'pids'], ctx),
      cpus: sourced(resources.cpu, ['resources', 'cpu'], ctx),
      diskBytes: size(resources.disk, ['resources', 'disk'], ctx),
      wallTimeMs: duration(resources.wall_time, ['resources', 'wall_time'], ctx),
    },
    budget: {
      tokens: sourced(budget.tokens, ['budget', 'tokens'], ctx),
      costUsd: sourced(budget.cost_usd, ['budget', 'cost_usd'], ctx),
    },
    publish: {
      protectedPaths: publish.protected_paths?.map(
        (glob, index): GlobRule => ({
          glob: glob.trim(),
          from: origin(['publish', 'protected_paths', index], ctx),
        }),
      ),
      allowProtected:
        publish.allow_protected === undefined
          ? undefined
          : { value: publish.allow_protected, from: origin(['publish', 'allow_protected'], ctx) },
      maxChangedFiles: sourced(publish.max_changed_files, ['publish', 'max_changed_files'], ctx),
    },
    runs: {
      maxChildren: count(runs.max_children, ['runs', 'max_children'], ctx),
      maxDepth: count(runs.max_depth, ['runs', 'max_depth'], ctx),
      repos: runs.repos?.map(
        (glob, index): GlobRule => ({ glob: glob.trim(), from: origin(['runs', 'repos', index], ctx) }),
      ),
    },
  };
  if (ctx.errors.length > 0) return { errors: ctx.errors, warnings: ctx.warnings };
  return { spec, errors: [], warnings: ctx.warnings };
}

/** The origin of the value at `path` in the file being parsed. */
function origin(path: PathSegment[], ctx: Context): Origin {
  const position = ctx.source.layer === 'builtin' ? undefined : ctx.locate(path);
  return {
    layer: ctx.source.layer,
    file: ctx.source.file,
    path: formatPath(path),
    line: position?.line ?? null,
    column: position?.column ?? null,
  };
}

function cleanPath(path: string): string {
  const normalized = posix.normalize(path.trim());
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

function paths(items: string[] | undefined, at: PathSegment[], ctx: Context): PathRule[] | undefined {
  return items?.map((item, index) => ({ path: cleanPath(item), from: origin([...at, index], ctx) }));
}

function hosts(items: string[] | undefined, at: PathSegment[], ctx: Context): HostRule[] | undefined {
  return items?.flatMap((item, index) => {
    const parsed = parseHostPattern(item);
    if ('error' in parsed) {
      ctx.errors.push(problemAt([...at, index], parsed.error, ctx.locate));
      return [];
    }
    return [{ ...parsed, from: origin([...at, index], ctx) }];
  });
}

/** A whole number with its origin. */
function count(value: number | undefined, at: PathSegment[], ctx: Context): Sourced<number> | undefined {
  return value === undefined ? undefined : { value, from: origin(at, ctx) };
}

/** A number or `unlimited` (null). */
function sourced(
  value: number | 'unlimited' | undefined,
  at: PathSegment[],
  ctx: Context,
): Sourced<number | null> | undefined {
  if (value === undefined) return undefined;
  return { value: value === 'unlimited' ? null : value, from: origin(at, ctx) };
}

/** A positive amount in a unit (`parse` reads it), `unlimited`, or absent; an error at `at` otherwise. */
function amount(
  value: string | number | undefined,
  at: PathSegment[],
  ctx: Context,
  parse: (value: string | number) => number | undefined,
  expected: string,
): Sourced<number | null> | undefined {
  if (value === undefined) return undefined;
  if (value === 'unlimited') return { value: null, from: origin(at, ctx) };
  const parsed = parse(value);
  if (parsed === undefined || parsed <= 0) {
    ctx.errors.push(problemAt(at, `expected ${expected}`, ctx.locate));
    return undefined;
  }
  return { value: parsed, from: origin(at, ctx) };
}

function size(
  value: string | number | undefined,
  at: PathSegment[],
  ctx: Context,
): Sourced<number | null> | undefined {
  const sourced = amount(value, at, ctx, parseSize, 'a size of more than 0, such as `4GiB`');
  const bytes = sourced?.value;
  if (bytes != null && bytes < SUSPICIOUSLY_SMALL) {
    const message = `is only ${bytes} bytes: write the unit, such as \`${bytes}MiB\` (sizes without a unit are bytes)`;
    ctx.warnings.push(problemAt(at, message, ctx.locate));
  }
  return sourced;
}

function duration(
  value: string | number | undefined,
  at: PathSegment[],
  ctx: Context,
): Sourced<number | null> | undefined {
  return amount(value, at, ctx, parseDuration, 'a duration of more than 0, such as `30m`');
}
