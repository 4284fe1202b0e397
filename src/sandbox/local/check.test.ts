import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../core/errors.ts';
import { LocalSandboxProvider } from './index.ts';

const roots: string[] = [];

afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe('LocalSandboxProvider.check', () => {
  it('passes on a host with bubblewrap and user namespaces', async () => {
    await expect(new LocalSandboxProvider().check()).resolves.toBeUndefined();
  });

  it('reports SANDBOX_UNAVAILABLE with the install hint when bwrap is missing', async () => {
    const provider = new LocalSandboxProvider({ bwrapPath: '/nonexistent/bin/bwrap' });

    const error = await provider.check().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NightshiftError);
    expect(error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
    expect((error as NightshiftError).hint).toBe('run `apt-get install bubblewrap` (see docs/install.md)');
  });

  it('refuses to create a sandbox when bwrap is missing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nightshift-check-'));
    roots.push(root);
    await mkdir(join(root, 'base'));
    const provider = new LocalSandboxProvider({ bwrapPath: '/nonexistent/bin/bwrap' });

    const attempt = provider.create({
      runId: 'run_00000000000check0001',
      baseDir: join(root, 'base'),
      stateDir: join(root, 'state'),
    });

    await expect(attempt).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
  });

  it('rejects a base dir that does not exist', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nightshift-check-'));
    roots.push(root);

    const attempt = new LocalSandboxProvider().create({
      runId: 'run_00000000000check0002',
      baseDir: join(root, 'missing'),
      stateDir: join(root, 'state'),
    });

    await expect(attempt).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
