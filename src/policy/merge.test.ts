import { describe, expect, it } from 'vitest';
import { hostAllowed } from './evaluate.ts';
import { ruleCovers } from './hosts.ts';
import { builtinPolicy } from './load.ts';
import { mergePolicies } from './merge.ts';
import { parsePolicy } from './parse.ts';
import { formatOrigin, type Policy, type PolicySpec } from './types.ts';

const SERVER_FILE = '/etc/nightshift/policy.yml';

const SERVER = `network:
  allow: [api.github.com, "*.npmjs.org", "registry.yarnpkg.com:443"]
  deny: ["*.internal.example.com"]
executables:
  deny: [curl, /usr/bin/nc]
  allow_exec_from: [/workspace/bin]
filesystem:
  hidden: [/etc/ssl/private]
resources: { memory: 4GiB, pids: 1024, cpu: 2, disk: 10GiB, wall_time: 30m }
budget: { tokens: 2000000, cost_usd: 5 }
publish:
  protected_paths: [".github/workflows/**"]
  allow_protected: false
  max_changed_files: 200
`;

function spec(text: string, layer: 'server' | 'repo'): PolicySpec {
  const file = layer === 'server' ? SERVER_FILE : '.nightshift/policy.yml';
  const { spec, errors } = parsePolicy(text, { layer, file });
  if (!spec) throw new Error(`test policy is invalid: ${JSON.stringify(errors)}`);
  return spec;
}

function merge(repo: string, server = SERVER) {
  return mergePolicies({
    builtin: builtinPolicy(),
    server: spec(server, 'server'),
    repo: spec(repo, 'repo'),
  });
}

const serverOnly = mergePolicies({ builtin: builtinPolicy(), server: spec(SERVER, 'server') }).policy;

describe('mergePolicies: a repo policy cannot widen the server policy', () => {
  it.each<[string, string, (policy: Policy) => unknown, 'errors' | 'warnings', RegExp]>([
    [
      'a host the server does not allow',
      'network:\n  allow: [api.github.com, evil.example.org]\n',
      (policy) => hostAllowed(policy, 'evil.example.org', 443).allowed,
      'errors',
      /network\.allow\[1\] .*`evil\.example\.org` is not within the server policy's network\.allow/,
    ],
    [
      'a wildcard wider than the server allows',
      'network:\n  allow: ["*.github.com"]\n',
      (policy) => hostAllowed(policy, 'gist.github.com', 443).allowed,
      'errors',
      /network\.allow\[0\] .*`\*\.github\.com` is not within/,
    ],
    [
      'any port where the server allows one',
      'network:\n  allow: [registry.yarnpkg.com]\n',
      (policy) => hostAllowed(policy, 'registry.yarnpkg.com', 80).allowed,
      'errors',
      /`registry\.yarnpkg\.com` is not within/,
    ],
    [
      'more memory',
      'resources:\n  memory: 16GiB\n',
      (policy) => policy.resources.memoryBytes,
      'warnings',
      /resources\.memory .*16GiB is more than the server policy allows \(4GiB, \/etc\/nightshift\/policy\.yml:9\)/,
    ],
    [
      'unlimited processes',
      'resources:\n  pids: unlimited\n',
      (policy) => policy.resources.pids,
      'warnings',
      /resources\.pids .*unlimited is more than the server policy allows \(1024/,
    ],
    [
      'a longer wall time',
      'resources:\n  wall_time: 2h\n',
      (policy) => policy.resources.wallTimeMs,
      'warnings',
      /resources\.wall_time .*2h is more than the server policy allows \(30m/,
    ],
    [
      'a bigger budget',
      'budget:\n  cost_usd: 50\n',
      (policy) => policy.budget.costUsd,
      'warnings',
      /budget\.cost_usd .*50 is more than the server policy allows \(5/,
    ],
    [
      'more changed files',
      'publish:\n  max_changed_files: 5000\n',
      (policy) => policy.publish.maxChangedFiles,
      'warnings',
      /publish\.max_changed_files .*5000 is more than/,
    ],
    [
      'allow_protected: true',
      'publish:\n  allow_protected: true\n',
      (policy) => policy.publish.allowProtected,
      'warnings',
      /publish\.allow_protected .*true has no effect: the server policy does not allow changes to protected paths/,
    ],
    [
      'executing from /tmp',
      'executables:\n  allow_exec_from: [/workspace/bin, /tmp]\n',
      (policy) => policy.executables.allowExecFrom.some((rule) => rule.path === '/tmp'),
      'errors',
      /executables\.allow_exec_from\[1\] .*\/tmp is not within the server policy's executables\.allow_exec_from/,
    ],
    [
      'executing from a parent of an allowed place',
      'executables:\n  allow_exec_from: [/workspace]\n',
      (policy) => policy.executables.allowExecFrom.some((rule) => rule.path === '/workspace'),
      'errors',
      /\/workspace is not within/,
    ],
  ])(
    'keeps what the server allows against %s, and names the offending rule',
    (_case, repo, value, kind, problem) => {
      const result = merge(repo);

      expect(value(result.policy)).toEqual(value(serverOnly));
      const lines = result[kind].map((p) => `${p.line}:${p.column} ${p.path} ${p.message}`);
      expect(lines.join('\n')).toMatch(problem);
    },
  );

  it.each<[string, string, (policy: Policy) => string[]]>([
    [
      'executables.deny',
      'executables:\n  deny: [wget]\n',
      (policy) => policy.executables.deny.map((r) => r.executable),
    ],
    ['network.deny', 'network:\n  deny: []\n', (policy) => policy.network.deny.map((rule) => rule.pattern)],
    [
      'filesystem.hidden',
      'filesystem:\n  hidden: [/srv]\n',
      (policy) => policy.filesystem.hidden.map((r) => r.path),
    ],
    [
      'publish.protected_paths',
      'publish:\n  protected_paths: [infra/**]\n',
      (policy) => policy.publish.protectedPaths.map((rule) => rule.glob),
    ],
  ])('cannot remove an entry from %s by leaving it out', (_key, repo, list) => {
    const { policy } = merge(repo);

    expect(list(policy)).toEqual(expect.arrayContaining(list(serverOnly)));
    expect(list(policy).length).toBeGreaterThanOrEqual(list(serverOnly).length);
  });

  it('never ends up with an allowed host that no server rule covers', () => {
    const repo =
      'network:\n  allow: ["*.github.com", api.github.com, "api.github.com:22", "*.npmjs.org", "10.0.0.1", npmjs.org]\n';

    const { policy, errors } = merge(repo);

    expect(policy.network.allow.map((rule) => rule.pattern)).toEqual([
      'api.github.com',
      'api.github.com:22',
      '*.npmjs.org',
    ]);
    for (const rule of policy.network.allow) {
      expect(serverOnly.network.allow.some((outer) => ruleCovers(outer, rule))).toBe(true);
    }
    expect(errors.map((problem) => problem.message.split(' ')[0])).toEqual([
      '`*.github.com`',
      '`10.0.0.1`',
      '`npmjs.org`',
    ]);
  });

  it('drops a repo host the server does not allow when the server allows no host at all', () => {
    const { policy, errors } = merge('network:\n  allow: [api.github.com]\n', 'network:\n  allow: []\n');

    expect(policy.network.allow).toEqual([]);
    expect(errors[0]?.message).toMatch(/it allows no host/);
  });
});

describe('mergePolicies: a repo policy may narrow the server policy', () => {
  it('keeps the repo hosts within the server allowlist, with the repo as their origin', () => {
    const { policy, errors } = merge(
      'network:\n  allow: [api.github.com, registry.npmjs.org:443, "*.pkg.npmjs.org", "registry.yarnpkg.com:443"]\n',
    );

    expect(errors).toEqual([]);
    expect(policy.network.allow.map((rule) => `${rule.pattern} ${formatOrigin(rule.from)}`)).toEqual([
      'api.github.com repo .nightshift/policy.yml:2',
      'registry.npmjs.org:443 repo .nightshift/policy.yml:2',
      '*.pkg.npmjs.org repo .nightshift/policy.yml:2',
      'registry.yarnpkg.com:443 repo .nightshift/policy.yml:2',
    ]);
  });

  it('allows nothing when the repo allows an empty list', () => {
    const { policy } = merge('network:\n  allow: []\n');

    expect(policy.network.allow).toEqual([]);
  });

  it('takes the smaller limits and adds to deny lists, hidden and protected paths', () => {
    const repo = `resources:
  memory: 1GiB
  pids: 4096
budget:
  tokens: 1000
network:
  deny: [ads.example.com]
executables:
  deny: [wget, curl]
  allow_exec_from: []
filesystem:
  read_only: [/workspace/vendor]
publish:
  protected_paths: ["infra/**"]
`;

    const { policy, errors, warnings } = merge(repo);

    expect(errors).toEqual([]);
    expect(policy.resources.memoryBytes.value).toBe(1024 ** 3);
    expect(formatOrigin(policy.resources.memoryBytes.from)).toBe('repo .nightshift/policy.yml:2');
    expect(policy.resources.pids.value).toBe(1024);
    expect(formatOrigin(policy.resources.pids.from)).toBe(`${SERVER_FILE}:9`);
    expect(warnings.map((problem) => problem.path)).toEqual(['resources.pids']);
    expect(policy.budget.tokens.value).toBe(1000);
    expect(policy.network.deny.map((rule) => rule.pattern)).toEqual([
      '*.internal.example.com',
      'ads.example.com',
    ]);
    expect(policy.executables.deny.map((rule) => rule.executable)).toEqual(['curl', '/usr/bin/nc', 'wget']);
    expect(policy.executables.allowExecFrom).toEqual([]);
    expect(policy.filesystem.readOnly.map((rule) => rule.path)).toEqual(['/workspace/vendor']);
    expect(policy.publish.protectedPaths.map((rule) => rule.glob)).toEqual([
      '.github/workflows/**',
      'infra/**',
    ]);
  });

  it('lets a repo turn allow_protected off when the server allows it', () => {
    const { policy } = merge('publish:\n  allow_protected: false\n', 'publish:\n  allow_protected: true\n');

    expect(policy.publish.allowProtected.value).toBe(false);
    expect(formatOrigin(policy.publish.allowProtected.from)).toBe('repo .nightshift/policy.yml:2');
  });

  it('lets a repo set a limit where the server has none', () => {
    const { policy, warnings } = merge('resources:\n  cpu: 0.5\n', 'resources:\n  cpu: unlimited\n');

    expect(policy.resources.cpus.value).toBe(0.5);
    expect(warnings).toEqual([]);
  });
});

describe('mergePolicies: the server file over the built-in default', () => {
  it('replaces the built-in default field by field, and keeps the built-in for the rest', () => {
    const server = 'resources:\n  memory: 8GiB\npublish:\n  protected_paths: []\n';

    const { policy } = mergePolicies({ builtin: builtinPolicy(), server: spec(server, 'server') });

    expect(policy.resources.memoryBytes.value).toBe(8 * 1024 ** 3);
    expect(formatOrigin(policy.resources.memoryBytes.from)).toBe(`${SERVER_FILE}:2`);
    expect(policy.resources.pids.value).toBe(1024);
    expect(formatOrigin(policy.resources.pids.from)).toBe('server default');
    expect(policy.publish.protectedPaths).toEqual([]);
  });

  it('denies all network access by default', () => {
    const { policy } = mergePolicies({ builtin: builtinPolicy() });

    expect(policy.network.allow).toEqual([]);
    expect(policy.publish.protectedPaths.map((rule) => rule.glob)).toEqual(['.github/workflows/**']);
    expect(policy.publish.allowProtected.value).toBe(false);
  });
});

describe('the runs section (sub-runs an agent may start)', () => {
  it('defaults to 5 children, depth 1 and no other repo', () => {
    const { policy } = mergePolicies({ builtin: builtinPolicy(), server: spec(SERVER, 'server') });

    expect(policy.runs.maxChildren.value).toBe(5);
    expect(policy.runs.maxDepth.value).toBe(1);
    expect(policy.runs.repos).toEqual([]);
  });

  it('lets a repo lower the limits but not raise them, nor add repos the server does not allow', () => {
    const server = `${SERVER}runs: { max_children: 3, repos: ["/srv/*"] }\n`;

    const { policy, errors, warnings } = merge(
      'runs: { max_children: 10, max_depth: 0, repos: ["/srv/*", "/home/**"] }\n',
      server,
    );

    expect(policy.runs.maxChildren.value).toBe(3);
    expect(policy.runs.maxDepth.value).toBe(0);
    expect(policy.runs.repos.map((rule) => rule.glob)).toEqual(['/srv/*']);
    expect(warnings.map((p) => p.path)).toEqual(['runs.max_children']);
    expect(errors.map((p) => [p.path, p.line])).toEqual([['runs.repos[1]', 1]]);
    expect(errors[0]!.message).toContain("not in the server policy's runs.repos");
  });
});
