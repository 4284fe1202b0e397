import type { Problem } from '../blueprints/problems.ts';

/**
 * The normalized policy: what a sandbox may do, with sizes in bytes, durations in ms, host
 * patterns parsed, and every value remembering which layer and line it came from.
 */

/** The layers of a policy, from the widest to the narrowest. */
export type PolicyLayerKind = 'builtin' | 'server' | 'repo';

/** Where a rule or value came from: the built-in default, the server's file or the repo's file. */
export interface Origin {
  layer: PolicyLayerKind;
  /** The file as shown to users: the server file's path, `.nightshift/policy.yml`; null for the built-in. */
  file: string | null;
  /** Dot-path of the value in its file, such as `network.allow[2]`. */
  path: string;
  /** 1-based line and column in the file; null for the built-in default. */
  line: number | null;
  column: number | null;
}

/** A single value and where it came from. */
export interface Sourced<T> {
  value: T;
  from: Origin;
}

/** An absolute path inside the sandbox (`/workspace/vendor`). */
export interface PathRule {
  path: string;
  from: Origin;
}

/** An executable by name (looked up in the sandbox's PATH directories) or by absolute path. */
export interface ExecutableRule {
  executable: string;
  kind: 'name' | 'path';
  from: Origin;
}

/**
 * A host pattern: `api.github.com`, `*.npmjs.org` (sub-domains only), with an optional port
 * (`registry.yarnpkg.com:443`), or an IP address matched exactly (`10.1.2.3`, `[::1]:8080`).
 */
export interface HostRule {
  /** The pattern as normalized text, such as `*.npmjs.org:443`. */
  pattern: string;
  /** Lower-case host without the `*.`, trailing dot or IPv6 brackets. */
  host: string;
  wildcard: boolean;
  /** True when `host` is an IP address (never a wildcard). */
  ip: boolean;
  /** The only port the rule matches, or null for every port. */
  port: number | null;
  from: Origin;
}

/** A glob over repository paths (`.github/workflows/**`). */
export interface GlobRule {
  glob: string;
  from: Origin;
}

/** The effective policy of a run. Null numbers mean "no limit". */
export interface Policy {
  filesystem: {
    /** Paths made read-only inside the sandbox, beyond what the sandbox already protects. */
    readOnly: PathRule[];
    /** Paths made invisible inside the sandbox. */
    hidden: PathRule[];
  };
  executables: {
    deny: ExecutableRule[];
    /** Writable places from which files may be executed; empty means none. */
    allowExecFrom: PathRule[];
  };
  network: {
    /** Hosts the sandbox may reach through the egress proxy; empty means none (default deny). */
    allow: HostRule[];
    /** Hosts it may never reach; a deny rule wins over any allow rule. */
    deny: HostRule[];
  };
  resources: {
    memoryBytes: Sourced<number | null>;
    pids: Sourced<number | null>;
    cpus: Sourced<number | null>;
    /** Size cap of the workspace's writes. */
    diskBytes: Sourced<number | null>;
    wallTimeMs: Sourced<number | null>;
  };
  budget: {
    /** Model tokens (input and output) per run. */
    tokens: Sourced<number | null>;
    costUsd: Sourced<number | null>;
  };
  publish: {
    protectedPaths: GlobRule[];
    allowProtected: Sourced<boolean>;
    maxChangedFiles: Sourced<number | null>;
  };
  /** Sub-runs an agent may start (`start_run` tool). */
  runs: {
    maxChildren: Sourced<number>;
    maxDepth: Sourced<number>;
    /** Repos (globs over locations or names) sub-runs may target besides the run's own. */
    repos: GlobRule[];
  };
}

/**
 * One policy file, normalized: only what the file sets (every field may be missing).
 * `null` numbers come from `unlimited`.
 */
export interface PolicySpec {
  filesystem: { readOnly?: PathRule[]; hidden?: PathRule[] };
  executables: { deny?: ExecutableRule[]; allowExecFrom?: PathRule[] };
  network: { allow?: HostRule[]; deny?: HostRule[] };
  resources: {
    memoryBytes?: Sourced<number | null>;
    pids?: Sourced<number | null>;
    cpus?: Sourced<number | null>;
    diskBytes?: Sourced<number | null>;
    wallTimeMs?: Sourced<number | null>;
  };
  budget: { tokens?: Sourced<number | null>; costUsd?: Sourced<number | null> };
  publish: {
    protectedPaths?: GlobRule[];
    allowProtected?: Sourced<boolean>;
    maxChangedFiles?: Sourced<number | null>;
  };
  runs: { maxChildren?: Sourced<number>; maxDepth?: Sourced<number>; repos?: GlobRule[] };
}

/** A problem and the policy file it is in (a problem found by the merge is in the repo's file). */
export interface PolicyProblem extends Problem {
  /** The file's path on disk. */
  file: string;
}

/** Says where a value came from: `server default`, `/etc/nightshift/policy.yml:4`, `repo .nightshift/policy.yml:7`. */
export function formatOrigin(origin: Origin): string {
  if (origin.layer === 'builtin') return 'server default';
  const where = origin.line === null ? origin.file : `${origin.file}:${origin.line}`;
  return origin.layer === 'repo' ? `repo ${where}` : `${where}`;
}
