import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explainPolicy, policyToJson } from './explain.ts';
import { loadPolicy } from './load.ts';

describe('explainPolicy', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-explain-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows every rule with where it came from', async () => {
    const serverFile = join(dir, 'policy.yml');
    writeFileSync(
      serverFile,
      'network:\n  allow: [api.github.com, "*.npmjs.org"]\nresources:\n  pids: 512\n',
    );
    mkdirSync(join(dir, 'repo/.nightshift'), { recursive: true });
    writeFileSync(
      join(dir, 'repo/.nightshift/policy.yml'),
      'network:\n  allow:\n    - registry.npmjs.org\nresources:\n  pids: 4096\n',
    );

    const loaded = await loadPolicy({ serverFile, repoDir: join(dir, 'repo') });
    const text = explainPolicy(loaded);
    const json = policyToJson(loaded) as {
      policy: { resources: Record<string, unknown>; network: { allow: unknown[] } };
    };

    expect(text).toMatch(/network\.allow +registry\.npmjs\.org +repo \.nightshift\/policy\.yml:3\n/);
    expect(text).toMatch(new RegExp(`resources\\.pids +512 +${serverFile.replaceAll('.', '\\.')}:4\\n`));
    expect(text).toMatch(/resources\.memory +4GiB +server default\n/);
    expect(text).toMatch(/network\.deny +\(none\)\n/);
    expect(text).toMatch(
      /Warnings\n .*policy\.yml:5:9 resources\.pids: 4096 is more than the server policy allows/,
    );
    expect(json.policy.network.allow).toEqual([
      expect.objectContaining({ pattern: 'registry.npmjs.org', from: 'repo .nightshift/policy.yml:3' }),
    ]);
    expect(json.policy.resources.memory).toMatchObject({
      value: 4 * 1024 ** 3,
      text: '4GiB',
      from: 'server default',
    });
  });
});
