import { describe, expect, it } from 'vitest';
import { checkPublish, hostAllowed } from './evaluate.ts';
import { matchesGlob } from './glob.ts';
import { builtinPolicy } from './load.ts';
import { mergePolicies } from './merge.ts';
import { parsePolicy } from './parse.ts';
import type { Policy } from './types.ts';

function policyOf(text: string): Policy {
  const { spec, errors } = parsePolicy(text, { layer: 'server', file: '/etc/nightshift/policy.yml' });
  if (!spec) throw new Error(`test policy is invalid: ${JSON.stringify(errors)}`);
  return mergePolicies({ builtin: builtinPolicy(), server: spec }).policy;
}

const NETWORK = policyOf(`network:
  allow:
    - api.github.com
    - "*.npmjs.org"
    - "registry.yarnpkg.com:443"
    - "*.example.com"
    - "10.1.2.3"
    - "[2001:db8::1]:8443"
  deny:
    - "*.internal.example.com"
    - "evil.npmjs.org"
`);

describe('hostAllowed', () => {
  it.each<[string, number | null, boolean, string | null]>([
    ['api.github.com', 443, true, 'api.github.com'],
    ['api.github.com', null, true, 'api.github.com'],
    ['API.GitHub.COM', 443, true, 'api.github.com'],
    ['api.github.com.', 443, true, 'api.github.com'],
    ['github.com', 443, false, null],
    ['xapi.github.com', 443, false, null],
    ['registry.npmjs.org', 443, true, '*.npmjs.org'],
    ['a.b.npmjs.org', 80, true, '*.npmjs.org'],
    ['npmjs.org', 443, false, null],
    ['evilnpmjs.org', 443, false, null],
    ['registry.yarnpkg.com', 443, true, 'registry.yarnpkg.com:443'],
    ['registry.yarnpkg.com', 80, false, null],
    ['registry.yarnpkg.com', null, false, null],
    ['evil.npmjs.org', 443, false, 'evil.npmjs.org'],
    ['db.internal.example.com', 5432, false, '*.internal.example.com'],
    ['www.example.com', 443, true, '*.example.com'],
    ['internal.example.com', 443, true, '*.example.com'],
    ['10.1.2.3', 443, true, '10.1.2.3'],
    ['10.1.2.4', 443, false, null],
    ['[2001:db8::1]', 8443, true, '[2001:db8::1]:8443'],
    ['2001:db8::1', 443, false, null],
    ['169.254.169.254', 80, false, null],
    ['not a host', 443, false, null],
    ['', 443, false, null],
  ])('%s port %s: allowed %s by %s', (host, port, allowed, rule) => {
    const decision = hostAllowed(NETWORK, host, port);

    expect(decision.allowed).toBe(allowed);
    expect(decision.rule?.pattern ?? null).toBe(rule);
  });

  it('never matches an IP address with a name pattern', () => {
    const policy = policyOf('network:\n  allow: ["*.1.2.3", "*.0.0.1"]\n');

    expect(hostAllowed(policy, 'x.1.2.3', 80).allowed).toBe(true);
    expect(hostAllowed(policy, '10.1.2.3', 80).allowed).toBe(false);
    expect(hostAllowed(policy, '127.0.0.1', 80).allowed).toBe(false);
    expect(hostAllowed(policy, '127.0.0.1', 80).reason).toMatch(
      /host name patterns never match IP addresses/,
    );
  });

  it('says which rule decided and where it came from', () => {
    expect(hostAllowed(NETWORK, 'db.internal.example.com', 5432).reason).toBe(
      'db.internal.example.com:5432 is denied by network.deny rule *.internal.example.com (/etc/nightshift/policy.yml:10)',
    );
    expect(hostAllowed(NETWORK, 'api.github.com', 443).reason).toBe(
      'api.github.com:443 is allowed by network.allow rule api.github.com (/etc/nightshift/policy.yml:3)',
    );
    expect(hostAllowed(NETWORK, 'example.org', 443).reason).toBe(
      'example.org:443 is denied: no network.allow rule matches it, and network access is denied by default',
    );
  });

  it('denies everything under the built-in default', () => {
    const { policy } = mergePolicies({ builtin: builtinPolicy() });

    expect(hostAllowed(policy, 'api.github.com', 443).allowed).toBe(false);
  });
});

describe('checkPublish', () => {
  const policy = policyOf(`publish:
  protected_paths: [".github/workflows/**", "**/*.pem", "Dockerfile", "deploy/"]
  max_changed_files: 3
`);

  it.each<[string, string[], string[]]>([
    ['an ordinary change', ['src/a.ts', 'README.md'], []],
    [
      'a workflow',
      ['src/a.ts', '.github/workflows/ci.yml'],
      ['the change touches .github/workflows/ci.yml, a protected path (.github/workflows/**)'],
    ],
    [
      'a nested workflow file, written with ./',
      ['./.github/workflows/sub/x.yml'],
      ['the change touches .github/workflows/sub/x.yml, a protected path (.github/workflows/**)'],
    ],
    [
      'a key at any depth',
      ['keys/prod/server.pem'],
      ['the change touches keys/prod/server.pem, a protected path (**/*.pem)'],
    ],
    ['a key at the root', ['server.pem'], ['the change touches server.pem, a protected path (**/*.pem)']],
    ['the root Dockerfile', ['Dockerfile'], ['the change touches Dockerfile, a protected path (Dockerfile)']],
    ['a Dockerfile elsewhere', ['docker/Dockerfile'], []],
    [
      'a file below a protected directory',
      ['deploy/prod/app.yml'],
      ['the change touches deploy/prod/app.yml, a protected path (deploy/)'],
    ],
    ['a look-alike of a protected directory', ['.github/workflows.md', 'deployment/x'], []],
    [
      'too many files',
      ['a', 'b', 'c', 'd'],
      ['the change touches 4 files, more than the 3 allowed (publish.max_changed_files)'],
    ],
    ['a path listed twice', ['a', 'b', 'c', './c'], []],
  ])('%s', (_case, paths, reasons) => {
    const violations = checkPublish(policy, paths);

    expect(violations.map((violation) => violation.reason)).toEqual(reasons);
  });

  it('lets protected paths through when the policy allows them, but still counts files', () => {
    const allowing = policyOf(
      'publish:\n  protected_paths: [".github/**"]\n  allow_protected: true\n  max_changed_files: 1\n',
    );

    const violations = checkPublish(allowing, ['.github/workflows/ci.yml', 'src/a.ts']);

    expect(violations.map((violation) => violation.rule)).toEqual(['max_changed_files']);
  });

  it('protects workflows under the built-in default', () => {
    const { policy: builtin } = mergePolicies({ builtin: builtinPolicy() });

    expect(checkPublish(builtin, ['.github/workflows/release.yml'])).toEqual([
      expect.objectContaining({
        rule: 'protected_path',
        glob: '.github/workflows/**',
        path: '.github/workflows/release.yml',
      }),
    ]);
  });
});

describe('matchesGlob', () => {
  it.each<[string, string, boolean]>([
    ['.github/workflows/ci.yml', '.github/workflows/**', true],
    ['.github/workflows', '.github/workflows/**', false],
    ['a/b/c.txt', 'a/**/c.txt', true],
    ['a/c.txt', 'a/**/c.txt', true],
    ['a/b/c.txt', 'a/*/c.txt', true],
    ['a/b/d/c.txt', 'a/*/c.txt', false],
    ['src/x.ts', 'src/?.ts', true],
    ['src/xy.ts', 'src/?.ts', false],
    ['src/.env', 'src/*', true],
    ['anything/at/all', '**', true],
    ['a+b(1).txt', 'a+b(1).txt', true],
    ['aab(1).txt', 'a+b(1).txt', false],
    ['/etc/x', 'etc/x', true],
  ])('%s against %s: %s', (path, glob, matches) => {
    expect(matchesGlob(path, glob)).toBe(matches);
  });
});
