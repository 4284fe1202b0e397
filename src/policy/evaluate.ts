import { globToRegExp, normalizeRepoPath } from './glob.ts';
import { normalizeHost, ruleMatches } from './hosts.ts';
import { formatOrigin, type GlobRule, type HostRule, type Origin, type Policy } from './types.ts';

/** Whether a connection may go out, the rule that decided, and a sentence saying why. */
export interface HostDecision {
  allowed: boolean;
  /** The deny or allow rule that decided; null when no rule matched (denied by default). */
  rule: HostRule | null;
  reason: string;
}

/**
 * Decides whether the sandbox may connect to `host` on `port`: a matching `network.deny` rule
 * denies (deny wins), else a matching `network.allow` rule allows, else it is denied by
 * default. Host names are compared case-insensitively and without a trailing dot; name
 * patterns never match IP addresses. A rule with a port matches only that port, so pass the
 * port whenever it is known.
 *
 * @example
 * const decision = hostAllowed(policy, 'registry.npmjs.org', 443);
 * if (!decision.allowed) log.warn({ host, reason: decision.reason }, 'egress denied');
 */
export function hostAllowed(
  policy: Pick<Policy, 'network'>,
  host: string,
  port: number | null = null,
): HostDecision {
  const target = normalizeHost(host);
  const shown = `${host}${port === null ? '' : `:${port}`}`;
  if (!target) return { allowed: false, rule: null, reason: `${JSON.stringify(host)} is not a host name` };
  const deny = policy.network.deny.find((rule) => ruleMatches(rule, target, port));
  if (deny) {
    return {
      allowed: false,
      rule: deny,
      reason: `${shown} is denied by network.deny rule ${describeRule(deny)}`,
    };
  }
  const allow = policy.network.allow.find((rule) => ruleMatches(rule, target, port));
  if (allow) {
    return {
      allowed: true,
      rule: allow,
      reason: `${shown} is allowed by network.allow rule ${describeRule(allow)}`,
    };
  }
  const why = target.ip
    ? 'no network.allow rule names this IP address (host name patterns never match IP addresses)'
    : 'no network.allow rule matches it';
  return {
    allowed: false,
    rule: null,
    reason: `${shown} is denied: ${why}, and network access is denied by default`,
  };
}

function describeRule(rule: HostRule): string {
  return `${rule.pattern} (${formatOrigin(rule.from)})`;
}

/** A publish rule a change breaks. */
export interface Violation {
  rule: 'protected_path' | 'max_changed_files';
  /** The path that breaks it (protected paths), or null. */
  path: string | null;
  /** The glob the path matched (protected paths), or null. */
  glob: string | null;
  /** A sentence for the run's conclusion: what the change does and which rule forbids it. */
  reason: string;
  /** Where the rule came from. */
  from: Origin;
}

/**
 * Checks a change against the policy's publish rules before it is pushed. `changedPaths` are
 * paths relative to the repo root of every file the change adds, modifies or deletes (both
 * sides of a rename). Returns one violation per protected path touched (unless
 * `allow_protected`), and one when the change touches more files than `max_changed_files`.
 *
 * @example
 * checkPublish(policy, ['.github/workflows/ci.yml'])[0]?.reason
 * // 'the change touches .github/workflows/ci.yml, a protected path (.github/workflows/**)'
 */
export function checkPublish(policy: Pick<Policy, 'publish'>, changedPaths: string[]): Violation[] {
  const paths = [...new Set(changedPaths.map(normalizeRepoPath))];
  const violations: Violation[] = [];
  const { protectedPaths, allowProtected, maxChangedFiles } = policy.publish;
  if (!allowProtected.value) {
    const globs = protectedPaths.map((rule): [GlobRule, RegExp] => [rule, globToRegExp(rule.glob)]);
    for (const path of paths) {
      const hit = globs.find(([, regex]) => regex.test(path));
      if (!hit) continue;
      const [rule] = hit;
      violations.push({
        rule: 'protected_path',
        path,
        glob: rule.glob,
        reason: `the change touches ${path}, a protected path (${rule.glob})`,
        from: rule.from,
      });
    }
  }
  const max = maxChangedFiles.value;
  if (max !== null && paths.length > max) {
    violations.push({
      rule: 'max_changed_files',
      path: null,
      glob: null,
      reason: `the change touches ${paths.length} files, more than the ${max} allowed (publish.max_changed_files)`,
      from: maxChangedFiles.from,
    });
  }
  return violations;
}
