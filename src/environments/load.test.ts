import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentInvalidError, loadEnvironment } from './load.ts';

describe('loadEnvironment', () => {
  let repo: string;
  beforeEach(async () => {
    repo = await mkdtemp(join(tmpdir(), 'nightshift-environments-'));
  });
  afterEach(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  async function write(path: string, text: string): Promise<void> {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), text);
  }

  it('gives an empty environment when the repo describes none', async () => {
    expect(await loadEnvironment(repo)).toEqual({
      environment: { setup: [], env: {}, test: null },
      source: 'none',
      warnings: [],
    });
  });

  it('reads .nightshift/environment.yml', async () => {
    await write('.nightshift/environment.yml', 'setup: npm ci\ntest: npm test\n');

    const { environment, source } = await loadEnvironment(repo);

    expect(source).toBe('.nightshift/environment.yml');
    expect(environment).toEqual({ setup: ['npm ci'], env: {}, test: 'npm test' });
  });

  it('falls back to .devcontainer/devcontainer.json', async () => {
    await write('.devcontainer/devcontainer.json', '{ "postCreateCommand": "pnpm install", // deps\n }');

    const { environment, source } = await loadEnvironment(repo);

    expect(source).toBe('.devcontainer/devcontainer.json');
    expect(environment.setup).toEqual(['pnpm install']);
  });

  it('prefers environment.yml over the devcontainer', async () => {
    await write('.devcontainer/devcontainer.json', '{ "postCreateCommand": "pnpm install" }');
    await write('.nightshift/environment.yml', 'setup: [make deps]\n');

    const { environment, source } = await loadEnvironment(repo);

    expect(source).toBe('.nightshift/environment.yml');
    expect(environment.setup).toEqual(['make deps']);
  });

  it('throws ENVIRONMENT_INVALID listing every problem with file, line and column', async () => {
    await write('.nightshift/environment.yml', 'setup: npm ci\ntests: npm test\nenv: [A]\n');

    const error = await loadEnvironment(repo).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(EnvironmentInvalidError);
    expect((error as EnvironmentInvalidError).code).toBe('ENVIRONMENT_INVALID');
    expect((error as Error).message).toBe(
      [
        'environment file .nightshift/environment.yml is invalid:',
        '  .nightshift/environment.yml:2:1 tests: unknown key `tests` (did you mean `test`?); allowed: setup, env, test, secrets',
        '  .nightshift/environment.yml:3:6 env: expected a mapping, got a list',
      ].join('\n'),
    );
  });
});
