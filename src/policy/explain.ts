import { formatProblem } from '../blueprints/problems.ts';
import type { LoadedPolicy } from './load.ts';
import { formatOrigin, type Origin, type Policy, type Sourced } from './types.ts';
import { formatDuration, formatSize } from './units.ts';

/** One line of the explanation: a key as the policy file writes it, a value, and its origin. */
interface Row {
  key: string;
  value: string;
  from?: Origin;
}

/**
 * Explains the effective policy for people: every rule and limit, each with where it came
 * from (`server default`, `/etc/nightshift/policy.yml:4`, `repo .nightshift/policy.yml:7`),
 * then the files' warnings.
 *
 * @example print(explainPolicy(await loadPolicy({ serverFile, repoDir })))
 */
export function explainPolicy(loaded: LoadedPolicy): string {
  const { policy, files, warnings } = loaded;
  const rows = policyRows(policy);
  const keyWidth = Math.max(...rows.map((row) => row.key.length));
  const valueWidth = Math.max(...rows.filter((row) => row.from).map((row) => row.value.length));
  let previous = '';
  const lines = rows.map((row) => {
    const key = row.key === previous ? '' : row.key;
    previous = row.key;
    const value = row.from ? `${row.value.padEnd(valueWidth)}  ${formatOrigin(row.from)}` : row.value;
    return `  ${key.padEnd(keyWidth)}  ${value}`.trimEnd();
  });
  const out = [
    'Policy files',
    `  server  ${files.server ?? 'none: the built-in default applies'}`,
    `  repo    ${files.repo ?? 'none'}`,
    '',
    'Effective policy',
    ...lines,
  ];
  if (warnings.length > 0) {
    out.push('', 'Warnings', ...warnings.map((problem) => `  ${formatProblem(problem, problem.file)}`));
  }
  return out.join('\n');
}

/** The effective policy for machines: the policy file's keys, values, and each one's origin. */
export function policyToJson(loaded: LoadedPolicy): Record<string, unknown> {
  const { policy, files, warnings } = loaded;
  const from = (origin: Origin) => ({ from: formatOrigin(origin), origin });
  const limit = (sourced: Sourced<number | null>, show?: (value: number) => string) => ({
    value: sourced.value,
    ...(show ? { text: sourced.value === null ? 'unlimited' : show(sourced.value) } : {}),
    ...from(sourced.from),
  });
  const withFrom = <T extends { from: Origin }>(rules: T[]) =>
    rules.map(({ from: origin, ...rule }) => ({ ...rule, ...from(origin) }));
  return {
    files,
    policy: {
      filesystem: {
        read_only: withFrom(policy.filesystem.readOnly),
        hidden: withFrom(policy.filesystem.hidden),
      },
      executables: {
        deny: withFrom(policy.executables.deny),
        allow_exec_from: withFrom(policy.executables.allowExecFrom),
      },
      network: { allow: withFrom(policy.network.allow), deny: withFrom(policy.network.deny) },
      resources: {
        memory: limit(policy.resources.memoryBytes, formatSize),
        pids: limit(policy.resources.pids),
        cpu: limit(policy.resources.cpus),
        disk: limit(policy.resources.diskBytes, formatSize),
        wall_time: limit(policy.resources.wallTimeMs, formatDuration),
      },
      budget: { tokens: limit(policy.budget.tokens), cost_usd: limit(policy.budget.costUsd) },
      publish: {
        protected_paths: withFrom(policy.publish.protectedPaths),
        allow_protected: {
          value: policy.publish.allowProtected.value,
          ...from(policy.publish.allowProtected.from),
        },
        max_changed_files: limit(policy.publish.maxChangedFiles),
      },
      runs: {
        max_children: { value: policy.runs.maxChildren.value, ...from(policy.runs.maxChildren.from) },
        max_depth: { value: policy.runs.maxDepth.value, ...from(policy.runs.maxDepth.from) },
        repos: withFrom(policy.runs.repos),
      },
    },
    warnings,
  };
}

function policyRows(policy: Policy): Row[] {
  const list = <T extends { from: Origin }>(
    key: string,
    rules: T[],
    show: (rule: T) => string,
    empty: string,
  ) =>
    rules.length === 0
      ? [{ key, value: empty }]
      : rules.map((rule) => ({ key, value: show(rule), from: rule.from }));
  const limit = (key: string, sourced: Sourced<number | null>, show: (value: number) => string = String) => ({
    key,
    value: sourced.value === null ? 'unlimited' : show(sourced.value),
    from: sourced.from,
  });
  const { filesystem, executables, network, resources, budget, publish, runs } = policy;
  return [
    ...list('filesystem.read_only', filesystem.readOnly, (rule) => rule.path, '(none)'),
    ...list('filesystem.hidden', filesystem.hidden, (rule) => rule.path, '(none)'),
    ...list('executables.deny', executables.deny, (rule) => rule.executable, '(none)'),
    ...list(
      'executables.allow_exec_from',
      executables.allowExecFrom,
      (rule) => rule.path,
      '(none: files written in the sandbox cannot be executed)',
    ),
    ...list('network.allow', network.allow, (rule) => rule.pattern, '(none: no network access)'),
    ...list('network.deny', network.deny, (rule) => rule.pattern, '(none)'),
    limit('resources.memory', resources.memoryBytes, formatSize),
    limit('resources.pids', resources.pids),
    limit('resources.cpu', resources.cpus),
    limit('resources.disk', resources.diskBytes, formatSize),
    limit('resources.wall_time', resources.wallTimeMs, formatDuration),
    limit('budget.tokens', budget.tokens),
    limit('budget.cost_usd', budget.costUsd, (usd) => `$${usd}`),
    ...list('publish.protected_paths', publish.protectedPaths, (rule) => rule.glob, '(none)'),
    {
      key: 'publish.allow_protected',
      value: String(publish.allowProtected.value),
      from: publish.allowProtected.from,
    },
    limit('publish.max_changed_files', publish.maxChangedFiles),
    limit('runs.max_children', runs.maxChildren),
    limit('runs.max_depth', runs.maxDepth),
    ...list('runs.repos', runs.repos, (rule) => rule.glob, '(none: sub-runs only on the run’s own repo)'),
  ];
}
