import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_RUNS_DIR, sandboxStateDir } from './config.ts';

describe('sandboxStateDir', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nightshift-config-'));
    await chmod(root, 0o755);
    await mkdir(join(root, 'open'), { mode: 0o755 });
    await mkdir(join(root, 'closed'), { mode: 0o700 });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ['root, a home the sandbox uid can enter', 'open', true, 'home'],
    ['root, a home behind a closed directory', 'closed', true, 'var'],
    ['a user, a home behind a closed directory', 'closed', false, 'home'],
  ])('keeps sandbox state where bubblewrap can reach it: %s', (_case, dir, asRoot, where) => {
    const home = join(root, dir, '.nightshift');

    const runs = sandboxStateDir(home, asRoot);

    expect(runs).toBe(where === 'home' ? join(home, 'runs') : ROOT_RUNS_DIR);
  });
});
