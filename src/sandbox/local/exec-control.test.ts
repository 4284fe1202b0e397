import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../types.ts';
import { deniedFiles } from './executables.ts';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

let root: string;
let strict: LocalSandbox;
let allowWorkspace: LocalSandbox;
const provider = new LocalSandboxProvider();

const SCRIPT = 'printf "#!/bin/sh\\necho script-ran\\n" > s.sh && chmod +x s.sh';

async function create(name: string, executables: SandboxSpec['executables']): Promise<LocalSandbox> {
  await mkdir(join(root, name, 'base'), { recursive: true });
  return provider.create({
    runId: `run_00000000000000${name.padEnd(6, '0').slice(0, 6)}`,
    baseDir: join(root, name, 'base'),
    stateDir: join(root, name, 'state'),
    executables,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nightshift-exec-'));
  strict = await create('strict', { deny: ['curl'] });
  allowWorkspace = await create('allow', { deny: ['curl'], allowExecFrom: ['/workspace'] });
});

afterAll(async () => {
  await strict?.destroy({ discard: true });
  await allowWorkspace?.destroy({ discard: true });
  await rm(root, { recursive: true, force: true });
});

function sh(sandbox: LocalSandbox, script: string) {
  return sandbox.exec(['sh', '-c', script]);
}

describe('executable control', () => {
  it.each([
    ['by name', 'curl --version'],
    ['by absolute path', '/usr/bin/curl --version'],
    ['through the /bin symlink', '/bin/curl --version'],
    ['through the dynamic loader', '/lib64/ld-linux-x86-64.so.2 /usr/bin/curl --version'],
  ])('refuses a denied binary %s', async (_, command) => {
    const result = await sh(strict, command);

    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).not.toMatch(/curl \d/);
  });

  it('refuses to copy a denied binary, so a renamed copy cannot run', async () => {
    const result = await sh(
      strict,
      'cp /usr/bin/curl /workspace/c; chmod +x /workspace/c; /workspace/c --version',
    );

    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/);
    expect(result.stdout).toBe('');
  });

  it.each(['/workspace', '/tmp', '/home/nightshift'])(
    'refuses a downloaded binary written to %s, also through the dynamic loader',
    async (dir) => {
      const result = await sh(
        strict,
        `cp /usr/bin/id ${dir}/tool && chmod +x ${dir}/tool && ${dir}/tool -u; echo direct=$?; /lib64/ld-linux-x86-64.so.2 ${dir}/tool -u; echo loader=$?`,
      );

      expect(result.stdout).toMatch(/^direct=[1-9]\d*\nloader=[1-9]\d*\n$/);
      expect(result.stderr).toMatch(/Permission denied/);
      expect(result.stderr).toMatch(/failed to map segment/);
    },
  );

  it('runs a workspace script through its interpreter but not directly, by default', async () => {
    const result = await sh(strict, `${SCRIPT}; ./s.sh; echo direct=$?; sh s.sh`);

    expect(result.stdout).toBe('direct=126\nscript-ran\n');
  });

  it('runs workspace files when the workspace is in allowExecFrom, and nothing else changes', async () => {
    const result = await sh(
      allowWorkspace,
      `${SCRIPT}; ./s.sh; cp /usr/bin/id ./tool && ./tool -u; cp /usr/bin/id /tmp/tool && /tmp/tool -u; echo tmp=$?; curl --version; echo curl=$?; cp /usr/bin/curl ./c; echo copy=$?`,
    );

    expect(result.stdout).toMatch(/^script-ran\n1000\ntmp=126\ncurl=12[67]\ncopy=1\n$/);
  });

  it('refuses allowExecFrom entries other than the writable places', async () => {
    await expect(create('bad', { allowExecFrom: ['/usr/local'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('masks every name and hard link of a denied program, and nothing in writable places', () => {
    const files = deniedFiles(
      ['curl', '/usr/bin/does-not-exist'],
      ['/usr/bin', '/bin', '/workspace'],
      ['/workspace'],
    );

    expect(files).toEqual(['/usr/bin/curl']);
  });
});
