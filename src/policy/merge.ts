import type { Problem } from '../blueprints/problems.ts';
import { ruleCovers } from './hosts.ts';
import type { Origin, PathRule, Policy, PolicySpec, Sourced } from './types.ts';
import { formatOrigin } from './types.ts';
import { formatDuration, formatSize } from './units.ts';

/** The policy files of one run, from the widest to the narrowest. */
export interface PolicyLayers {
  /** The built-in default (`BUILTIN_POLICY`, parsed). */
  builtin: PolicySpec;
  /** `$NIGHTSHIFT_HOME/policy.yml`: every field it sets replaces the built-in one. */
  server?: PolicySpec;
  /** The repo's `.nightshift/policy.yml`: it may only narrow the server's policy. */
  repo?: PolicySpec;
}

/** The effective policy, and the problems the repo layer has (in the repo's file). */
export interface MergeResult {
  policy: Policy;
  errors: Problem[];
  warnings: Problem[];
}

/**
 * Layers policy files into the effective policy: the server's file over the built-in default,
 * field by field, then the repo's file, which may only narrow. A repo entry that would widen
 * a list of what is allowed (`network.allow`, `executables.allow_exec_from`) is an error and is
 * dropped; a limit or switch that would widen is a warning and the server's value stays.
 *
 * @example
 * const { policy, errors } = mergePolicies({ builtin, server, repo });
 */
export function mergePolicies(layers: PolicyLayers): MergeResult {
  const server = serverPolicy(layers.builtin, layers.server);
  if (!layers.repo) return { policy: server, errors: [], warnings: [] };
  return narrowPolicy(server, layers.repo);
}

/** The server's policy: every field the server file sets, else the built-in one, else no limit. */
export function serverPolicy(builtin: PolicySpec, server?: PolicySpec): Policy {
  const pick = <T>(get: (spec: PolicySpec) => T | undefined, fallback: T): T =>
    (server && get(server)) ?? get(builtin) ?? fallback;
  const none = (path: string): Origin => ({ layer: 'builtin', file: null, path, line: null, column: null });
  const unlimited = (path: string): Sourced<number | null> => ({ value: null, from: none(path) });
  return {
    filesystem: {
      readOnly: pick((spec) => spec.filesystem.readOnly, []),
      hidden: pick((spec) => spec.filesystem.hidden, []),
    },
    executables: {
      deny: pick((spec) => spec.executables.deny, []),
      allowExecFrom: pick((spec) => spec.executables.allowExecFrom, []),
    },
    network: {
      allow: pick((spec) => spec.network.allow, []),
      deny: pick((spec) => spec.network.deny, []),
    },
    resources: {
      memoryBytes: pick((spec) => spec.resources.memoryBytes, unlimited('resources.memory')),
      pids: pick((spec) => spec.resources.pids, unlimited('resources.pids')),
      cpus: pick((spec) => spec.resources.cpus, unlimited('resources.cpu')),
      diskBytes: pick((spec) => spec.resources.diskBytes, unlimited('resources.disk')),
      wallTimeMs: pick((spec) => spec.resources.wallTimeMs, unlimited('resources.wall_time')),
    },
    budget: {
      tokens: pick((spec) => spec.budget.tokens, unlimited('budget.tokens')),
      costUsd: pick((spec) => spec.budget.costUsd, unlimited('budget.cost_usd')),
    },
    publish: {
      protectedPaths: pick((spec) => spec.publish.protectedPaths, []),
      allowProtected: pick((spec) => spec.publish.allowProtected, {
        value: false,
        from: none('publish.allow_protected'),
      }),
      maxChangedFiles: pick((spec) => spec.publish.maxChangedFiles, unlimited('publish.max_changed_files')),
    },
    runs: {
      maxChildren: pick((spec) => spec.runs.maxChildren, { value: 0, from: none('runs.max_children') }),
      maxDepth: pick((spec) => spec.runs.maxDepth, { value: 0, from: none('runs.max_depth') }),
      repos: pick((spec) => spec.runs.repos, []),
    },
  };
}

/**
 * Applies a repo's policy to the server's, only ever narrowing it: limits take the minimum,
 * deny lists, hidden and read-only paths and protected paths are the union, and the repo's
 * `network.allow` and `executables.allow_exec_from` keep only entries within the server's.
 */
export function narrowPolicy(server: Policy, repo: PolicySpec): MergeResult {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const limit = (
    serverValue: Sourced<number | null>,
    repoValue: Sourced<number | null> | undefined,
    show: (value: number) => string = String,
  ): Sourced<number | null> => {
    if (!repoValue) return serverValue;
    if (serverValue.value === null || (repoValue.value !== null && repoValue.value <= serverValue.value))
      return repoValue;
    const asked = repoValue.value === null ? 'unlimited' : show(repoValue.value);
    warnings.push(
      problemFrom(
        repoValue.from,
        `${asked} is more than the server policy allows (${show(serverValue.value)}, ${formatOrigin(serverValue.from)}); the server's limit applies, since a repo policy may only narrow it`,
      ),
    );
    return serverValue;
  };

  const allow = repo.network.allow?.filter((rule) => {
    if (server.network.allow.some((outer) => ruleCovers(outer, rule))) return true;
    const allowed = server.network.allow.map((outer) => outer.pattern).join(', ');
    errors.push(
      problemFrom(
        rule.from,
        `\`${rule.pattern}\` is not within the server policy's network.allow (${allowed ? `it allows ${allowed}` : 'it allows no host'}): a repo policy may only narrow it, never add hosts; hint: list only hosts (and ports) the server allows, or ask the Nightshift administrator to allow it in the server policy ($NIGHTSHIFT_HOME/policy.yml)`,
      ),
    );
    return false;
  });

  const allowExecFrom = repo.executables.allowExecFrom?.filter((rule) => {
    if (server.executables.allowExecFrom.some((outer) => isWithin(rule.path, outer.path))) return true;
    const allowed = server.executables.allowExecFrom.map((outer) => outer.path).join(', ');
    errors.push(
      problemFrom(
        rule.from,
        `${rule.path} is not within the server policy's executables.allow_exec_from (${allowed ? `it allows ${allowed}` : 'it allows executing from no writable place'}): a repo policy may only remove places, never add them; hint: list only places within the server's, or ask the Nightshift administrator to allow it in the server policy ($NIGHTSHIFT_HOME/policy.yml)`,
      ),
    );
    return false;
  });

  let allowProtected = server.publish.allowProtected;
  const asked = repo.publish.allowProtected;
  if (asked && !asked.value) allowProtected = asked;
  else if (asked?.value && !server.publish.allowProtected.value) {
    warnings.push(
      problemFrom(
        asked.from,
        `true has no effect: the server policy does not allow changes to protected paths (${formatOrigin(server.publish.allowProtected.from)}), and a repo policy may only narrow it`,
      ),
    );
  }

  const runRepos = repo.runs.repos?.filter((rule) => {
    if (server.runs.repos.some((outer) => outer.glob === rule.glob || outer.glob === '**')) return true;
    const allowed = server.runs.repos.map((outer) => outer.glob).join(', ');
    errors.push(
      problemFrom(
        rule.from,
        `\`${rule.glob}\` is not in the server policy's runs.repos (${allowed ? `it allows ${allowed}` : 'it allows sub-runs on no other repo'}): a repo policy may only narrow it; hint: list only repos the server allows, or ask the Nightshift administrator to allow it in the server policy ($NIGHTSHIFT_HOME/policy.yml)`,
      ),
    );
    return false;
  });

  const policy: Policy = {
    filesystem: {
      readOnly: union(server.filesystem.readOnly, repo.filesystem.readOnly, (rule) => rule.path),
      hidden: union(server.filesystem.hidden, repo.filesystem.hidden, (rule) => rule.path),
    },
    executables: {
      deny: union(server.executables.deny, repo.executables.deny, (rule) => rule.executable),
      allowExecFrom: allowExecFrom ?? server.executables.allowExecFrom,
    },
    network: {
      allow: allow ?? server.network.allow,
      deny: union(server.network.deny, repo.network.deny, (rule) => rule.pattern),
    },
    resources: {
      memoryBytes: limit(server.resources.memoryBytes, repo.resources.memoryBytes, formatSize),
      pids: limit(server.resources.pids, repo.resources.pids),
      cpus: limit(server.resources.cpus, repo.resources.cpus),
      diskBytes: limit(server.resources.diskBytes, repo.resources.diskBytes, formatSize),
      wallTimeMs: limit(server.resources.wallTimeMs, repo.resources.wallTimeMs, formatDuration),
    },
    budget: {
      tokens: limit(server.budget.tokens, repo.budget.tokens),
      costUsd: limit(server.budget.costUsd, repo.budget.costUsd),
    },
    publish: {
      protectedPaths: union(server.publish.protectedPaths, repo.publish.protectedPaths, (rule) => rule.glob),
      allowProtected,
      maxChangedFiles: limit(server.publish.maxChangedFiles, repo.publish.maxChangedFiles),
    },
    runs: {
      maxChildren: limit(server.runs.maxChildren, repo.runs.maxChildren) as Sourced<number>,
      maxDepth: limit(server.runs.maxDepth, repo.runs.maxDepth) as Sourced<number>,
      repos: runRepos ?? server.runs.repos,
    },
  };
  return { policy, errors, warnings };
}

/** The server's entries, then the repo's that are not already there. */
function union<T>(server: T[], repo: T[] | undefined, key: (item: T) => string): T[] {
  const out = [...server];
  const seen = new Set(server.map(key));
  for (const item of repo ?? []) {
    if (seen.has(key(item))) continue;
    seen.add(key(item));
    out.push(item);
  }
  return out;
}

/** Whether `path` is `outer` or below it. */
function isWithin(path: PathRule['path'], outer: PathRule['path']): boolean {
  return path === outer || outer === '/' || path.startsWith(`${outer}/`);
}

function problemFrom(origin: Origin, message: string): Problem {
  return {
    path: origin.path,
    message,
    ...(origin.line === null ? {} : { line: origin.line }),
    ...(origin.column === null ? {} : { column: origin.column }),
  };
}
