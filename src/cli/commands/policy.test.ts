import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/cli.ts';

describe('nightshift policy explain', () => {
  let dir: string;
  let home: string;
  let repo: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-policy-cli-'));
    home = join(dir, 'home');
    repo = join(dir, 'repo');
    mkdirSync(home);
    mkdirSync(join(repo, '.nightshift'), { recursive: true });
    writeFileSync(
      join(home, 'policy.yml'),
      'network:\n  allow: [api.github.com, "*.npmjs.org"]\nbudget:\n  cost_usd: 5\n',
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the effective policy and where each rule came from', async () => {
    writeFileSync(join(repo, '.nightshift/policy.yml'), 'network:\n  allow: [registry.npmjs.org]\n');

    const { code, stdout } = await runCli(['policy', 'explain', '--repo', repo], { NIGHTSHIFT_HOME: home });

    expect(code).toBe(0);
    expect(stdout).toContain(`server  ${join(home, 'policy.yml')}`);
    expect(stdout).toMatch(/network\.allow +registry\.npmjs\.org +repo \.nightshift\/policy\.yml:2\n/);
    expect(stdout).toMatch(
      new RegExp(`budget\\.cost_usd +\\$5 +${join(home, 'policy.yml').replaceAll('.', '\\.')}:4`),
    );
    expect(stdout).toMatch(/resources\.wall_time +30m +server default/);
  });

  it('prints JSON with --json, and takes the home from --home', async () => {
    writeFileSync(join(repo, '.nightshift/policy.yml'), 'resources:\n  memory: 1GiB\n');

    const { code, stdout } = await runCli(['--json', '--home', home, 'policy', 'explain', '--repo', repo], {
      NIGHTSHIFT_HOME: join(dir, 'elsewhere'),
    });

    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(json.files.server).toBe(join(home, 'policy.yml'));
    expect(json.policy.resources.memory).toMatchObject({
      value: 1024 ** 3,
      from: 'repo .nightshift/policy.yml:2',
    });
    expect(json.policy.network.allow.map((rule: { pattern: string }) => rule.pattern)).toEqual([
      'api.github.com',
      '*.npmjs.org',
    ]);
  });

  it('lists every problem with file:line:col and exits 2', async () => {
    writeFileSync(
      join(repo, '.nightshift/policy.yml'),
      'network:\n  allow: [api.github.com, "bad host"]\nresources:\n  memroy: 1GiB\n',
    );

    const { code, stderr } = await runCli(['policy', 'explain', '--repo', repo], { NIGHTSHIFT_HOME: home });

    expect(code).toBe(2);
    const file = join(repo, '.nightshift/policy.yml');
    expect(stderr).toContain(`${file}:2:27 network.allow[1]: expected a host such as`);
    expect(stderr).toContain(
      `${file}:4:3 resources.memroy: unknown key \`memroy\` (did you mean \`memory\`?)`,
    );
    expect(stderr).toMatch(/^hint: /m);
  });

  it('names a repo entry that widens the server policy, and exits 2', async () => {
    writeFileSync(
      join(repo, '.nightshift/policy.yml'),
      'network:\n  allow: [api.github.com, evil.example.com]\n',
    );

    const { code, stderr } = await runCli(['policy', 'explain', '--repo', repo], { NIGHTSHIFT_HOME: home });

    expect(code).toBe(2);
    expect(stderr).toContain(
      `${join(repo, '.nightshift/policy.yml')}:2:27 network.allow[1]: \`evil.example.com\` is not within the server policy's network.allow`,
    );
  });

  it('rejects a repo path that is not a directory', async () => {
    const { code, stderr } = await runCli(['policy', 'explain', '--repo', join(dir, 'nowhere')], {
      NIGHTSHIFT_HOME: home,
    });

    expect(code).toBe(2);
    expect(stderr).toMatch(/is not a directory/);
  });
});
