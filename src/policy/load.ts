import { join } from 'node:path';
import { formatProblem, type Problem } from '../blueprints/problems.ts';
import { readOptionalFile, readRepoFile } from '../blueprints/yaml-source.ts';
import { NightshiftError } from '../core/errors.ts';
import { BUILTIN_POLICY } from './builtin.ts';
import { mergePolicies } from './merge.ts';
import { type PolicySource, parsePolicy } from './parse.ts';
import type { Policy, PolicyProblem, PolicySpec } from './types.ts';

/** Where a repo keeps its policy, relative to its root. */
export const REPO_POLICY_FILE = '.nightshift/policy.yml';

/** The server's policy file in a Nightshift home: `$NIGHTSHIFT_HOME/policy.yml`. */
export function serverPolicyFile(home: string): string {
  return join(home, 'policy.yml');
}

/** Policy files that have errors (or a repo policy that tries to widen); `problems` holds every one. */
export class PolicyInvalidError extends NightshiftError {
  readonly problems: PolicyProblem[];

  constructor(problems: PolicyProblem[]) {
    const lines = problems.map((problem) => `  ${formatProblem(problem, problem.file)}`);
    super('POLICY_INVALID', `the policy is invalid:\n${lines.join('\n')}`, {
      hint: 'fix the problems above; docs/policies.md describes the format and how a repo policy may narrow the server’s',
    });
    this.name = 'PolicyInvalidError';
    this.problems = problems;
  }
}

/** Which policy files to read. */
export interface PolicyFiles {
  /** The server's policy file (`serverPolicyFile(home)`); the built-in default applies when it does not exist. */
  serverFile: string;
  /** The repo's checkout, whose `.nightshift/policy.yml` narrows the server's policy when it exists. */
  repoDir?: string;
  /** A file read instead of the repo's `.nightshift/policy.yml` (trying a policy before committing it). */
  repoFile?: string;
}

/** Everything known about a run's policy, problems included. */
export interface PolicyInspection {
  /** The effective policy; missing when a file could not be parsed. */
  policy?: Policy;
  errors: PolicyProblem[];
  warnings: PolicyProblem[];
  /** The files that were read (null: the built-in default, or no repo policy). */
  files: { server: string | null; repo: string | null };
}

/** The effective policy of a run and the warnings its files produced. */
export interface LoadedPolicy {
  policy: Policy;
  warnings: PolicyProblem[];
  files: PolicyInspection['files'];
}

/**
 * Loads the effective policy: the built-in default, replaced field by field by the server's
 * file, narrowed by the repo's `.nightshift/policy.yml`. Throws a `PolicyInvalidError`
 * (POLICY_INVALID) listing every problem when a file is invalid or the repo's tries to widen
 * what the server allows.
 *
 * @example
 * const { policy } = await loadPolicy({ serverFile: serverPolicyFile(home), repoDir: baseDir });
 * sandboxLimits.memoryBytes = policy.resources.memoryBytes.value ?? undefined;
 */
export async function loadPolicy(files: PolicyFiles): Promise<LoadedPolicy> {
  const inspection = await inspectPolicy(files);
  if (!inspection.policy || inspection.errors.length > 0) throw new PolicyInvalidError(inspection.errors);
  return { policy: inspection.policy, warnings: inspection.warnings, files: inspection.files };
}

/** Like `loadPolicy`, but hands back every problem instead of throwing (for `policy explain` and editors). */
export async function inspectPolicy(files: PolicyFiles): Promise<PolicyInspection> {
  const errors: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  /** With `repoDir`, the file is the repository's own, read as one (see `readRepoFile`). */
  const read = async (path: string, source: PolicySource, repoDir?: string) => {
    // Fail closed: a policy that exists but cannot be read must not be skipped.
    const failure = (error: Error) =>
      new NightshiftError('POLICY_INVALID', `cannot read policy file ${path}: ${error.message}`, {
        hint: repoDir
          ? 'the repository must hold the policy as a regular file'
          : 'make the file readable by the user Nightshift runs as',
        cause: error,
      });
    const text = repoDir
      ? readRepoFile(repoDir, REPO_POLICY_FILE, failure)
      : await readOptionalFile(path, failure);
    if (text === undefined) return { found: false };
    const result = parsePolicy(text, source);
    errors.push(...inFile(result.errors, path));
    warnings.push(...inFile(result.warnings, path));
    return { found: true, spec: result.spec };
  };

  const server = await read(files.serverFile, { layer: 'server', file: files.serverFile });
  const repoFile =
    files.repoFile ?? (files.repoDir === undefined ? undefined : join(files.repoDir, REPO_POLICY_FILE));
  const shownAs = files.repoFile ?? REPO_POLICY_FILE;
  const repo = repoFile
    ? await read(repoFile, { layer: 'repo', file: shownAs }, files.repoFile ? undefined : files.repoDir)
    : { found: false };
  const found = {
    server: server.found ? files.serverFile : null,
    repo: repo.found ? (repoFile ?? null) : null,
  };
  if ((server.found && !server.spec) || (repo.found && !repo.spec)) return { errors, warnings, files: found };

  const merged = mergePolicies({ builtin: builtinPolicy(), server: server.spec, repo: repo.spec });
  errors.push(...inFile(merged.errors, repoFile ?? REPO_POLICY_FILE));
  warnings.push(...inFile(merged.warnings, repoFile ?? REPO_POLICY_FILE));
  return { policy: merged.policy, errors, warnings, files: found };
}

let builtin: PolicySpec | undefined;

/** The built-in default policy, parsed. */
export function builtinPolicy(): PolicySpec {
  if (!builtin) {
    const { spec, errors } = parsePolicy(BUILTIN_POLICY, { layer: 'builtin', file: null });
    if (!spec)
      throw new Error(`the built-in policy is invalid: ${errors.map((e) => formatProblem(e)).join('; ')}`);
    builtin = spec;
  }
  return builtin;
}

function inFile(problems: Problem[], file: string): PolicyProblem[] {
  return problems.map((problem) => ({ file, ...problem }));
}
