import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bwrapArgs } from './bwrap.ts';
import { LocalSandboxProvider } from './index.ts';
import { createTail } from './process.ts';

const roots: string[] = [];

afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

describe('bwrap arguments', () => {
  it.each([
    [{ path: '/bin', symlink: 'usr/bin' }, ['--symlink', 'usr/bin', '/bin']],
    [{ path: '/bin', directory: true as const }, ['--ro-bind', '/bin', '/bin']],
  ])('mirrors the host root entry %o', (entry, expected) => {
    const args = bwrapArgs({
      bwrap: 'bwrap',
      stateMount: '/tmp',
      rootLayout: [entry],
      readOnlyPaths: [],
      etc: [],
      mounts: [],
      cwd: '/workspace',
      env: {},
      argv: ['true'],
    });

    const at = args.indexOf(expected[0]!, args.indexOf('/usr'));
    expect(args.slice(at, at + 3)).toEqual(expected);
  });

  it('shows extra read-only paths inside the sandbox, read-only', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nightshift-bwrap-'));
    roots.push(root);
    await mkdir(join(root, 'base'));
    // Outside /tmp (refused there), wherever the checkout is.
    const here = await mkdtemp('/var/tmp/nightshift-ro-');
    roots.push(here);
    await chmod(here, 0o755);
    await writeFile(join(here, 'launch.sh'), '#!/bin/sh\n');
    const sandbox = await new LocalSandboxProvider({ readOnlyPaths: [here] }).create({
      runId: 'run_000000000000bwrap001',
      baseDir: join(root, 'base'),
      stateDir: join(root, 'state'),
    });

    const result = await sandbox.exec([
      'sh',
      '-c',
      `head -c 6 ${here}/launch.sh; echo; touch ${here}/x || echo read-only`,
    ]);
    await sandbox.destroy({ discard: true });

    expect(result.stdout).toBe('#!/bin\nread-only\n');
  });

  it('refuses extra read-only paths under /tmp, where the launcher mounts the state dir', () => {
    expect(() => new LocalSandboxProvider({ readOnlyPaths: ['/tmp/tools'] })).toThrow(/\/tmp/);
  });
});

describe('output tail', () => {
  it('keeps the newest bytes without a broken character at the start', () => {
    const tail = createTail(3);

    tail.push(Buffer.from('abcdef'));
    tail.push(Buffer.from('ghé'));
    tail.push(Buffer.from('jk'));

    expect(tail.text()).toBe('jk');
  });

  it('keeps everything under the limit', () => {
    const tail = createTail(100);

    tail.push(Buffer.from('one '));
    tail.push(Buffer.from('two'));

    expect(tail.text()).toBe('one two');
  });
});
