import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedAncestor, planMounts } from './mounts.ts';

const root = mkdtempSync(join(tmpdir(), 'nightshift-mounts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('host files shown in a sandbox under root', () => {
  it('names the first directory on the way that the sandbox user may not enter', () => {
    const tools = join(root, 'closed', 'open', 'tools');
    mkdirSync(tools, { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'closed'), 0o700);
    chmodSync(join(root, 'closed', 'open'), 0o755);

    expect(closedAncestor(join(tools, 'cli.js'), true)).toBe(join(root, 'closed'));
    mkdirSync(join(root, 'shared', 'tools'), { recursive: true, mode: 0o755 });
    expect(closedAncestor(join(root, 'shared', 'tools', 'cli.js'), true)).toBeUndefined();
    expect(closedAncestor(join(tools, 'cli.js'), false)).toBeUndefined();
  });

  const rootHomeClosed = process.getuid?.() === 0 && (statSync('/root').mode & 0o001) === 0;
  it.runIf(rootHomeClosed)(
    'refuses, with a fix, to show a file from /root (the sandbox user cannot reach it)',
    () => {
      const plan = () =>
        planMounts({
          spec: { files: [{ path: '/root/.nightshift/tools/cli/bin', target: '/run/nightshift/tools/cli' }] },
          baseDir: join(root, 'base'),
          stateDir: join(root, 'state'),
          stateMount: '/tmp',
          hostHidden: [],
          denied: [],
          visibleRoots: [],
        });

      expect(plan).toThrow(
        /cannot be shown in the sandbox: its sandboxed user may not enter \/root \(mode 7\d0\)/,
      );
      expect(plan).toThrow(
        expect.objectContaining({ hint: expect.stringContaining('NIGHTSHIFT_TOOLS_DIR') }),
      );
    },
  );
});
