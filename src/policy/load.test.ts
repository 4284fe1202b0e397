import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectPolicy, loadPolicy, PolicyInvalidError, serverPolicyFile } from './load.ts';

describe('loadPolicy', () => {
  let dir: string;
  let home: string;
  let repo: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-policy-'));
    home = join(dir, 'home');
    repo = join(dir, 'repo');
    mkdirSync(home);
    mkdirSync(join(repo, '.nightshift'), { recursive: true });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const files = () => ({ serverFile: serverPolicyFile(home), repoDir: repo });
  const writeServer = (text: string) => writeFileSync(join(home, 'policy.yml'), text);
  const writeRepo = (text: string) => writeFileSync(join(repo, '.nightshift/policy.yml'), text);

  it('uses the built-in default when neither file exists', async () => {
    const { policy, files: read } = await loadPolicy(files());

    expect(read).toEqual({ server: null, repo: null });
    expect(policy.network.allow).toEqual([]);
    expect(policy.resources.memoryBytes.value).toBe(4 * 1024 ** 3);
  });

  it('layers the repo file over the server file', async () => {
    writeServer('network:\n  allow: ["*.npmjs.org"]\n');
    writeRepo('network:\n  allow: [registry.npmjs.org]\n');

    const { policy, files: read } = await loadPolicy(files());

    expect(read).toEqual({ server: join(home, 'policy.yml'), repo: join(repo, '.nightshift/policy.yml') });
    expect(policy.network.allow.map((rule) => rule.pattern)).toEqual(['registry.npmjs.org']);
  });

  it('lists every problem of both files, each as file:line:col path: message', async () => {
    writeServer('resources:\n  memory: lots\n');
    writeRepo('network:\n  alow: []\npublish:\n  max_changed_files: -1\n');

    const error = await loadPolicy(files()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PolicyInvalidError);
    expect((error as PolicyInvalidError).code).toBe('POLICY_INVALID');
    const message = (error as Error).message;
    expect(message).toContain(`${join(home, 'policy.yml')}:2:11 resources.memory: expected a size`);
    expect(message).toContain(`${join(repo, '.nightshift/policy.yml')}:2:3 network.alow: unknown key`);
    expect(message).toContain(`${join(repo, '.nightshift/policy.yml')}:4:22 publish.max_changed_files:`);
  });

  it('refuses a repo policy that tries to widen the network, naming the entry', async () => {
    writeServer('network:\n  allow: [api.github.com]\n');
    writeRepo('network:\n  allow:\n    - api.github.com\n    - pastebin.com\n');

    const error = await loadPolicy(files()).catch((caught: unknown) => caught);
    const inspection = await inspectPolicy(files());

    expect((error as Error).message).toMatch(
      /policy\.yml:4:7 network\.allow\[1\]: `pastebin\.com` is not within the server policy's network\.allow \(it allows api\.github\.com\).*hint: /,
    );
    expect(inspection.policy?.network.allow.map((rule) => rule.pattern)).toEqual(['api.github.com']);
  });
});
