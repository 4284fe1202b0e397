import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

/**
 * The curated /etc shown with one bind of a template assembled once (state dir reachable by
 * the sandbox's uid) must be the /etc shown entry by entry (state dir behind a closed
 * directory, as root): same entries, same files, read-only, the sandbox's own identity files.
 */
describe('the curated /etc, assembled once or bound per entry', () => {
  let root: string;
  const sandboxes: LocalSandbox[] = [];
  const script =
    'ls -A /etc; md5sum /etc/os-release /etc/ld.so.cache; id -un; grep -c nightshift /etc/passwd; touch /etc/x 2>/dev/null || echo read-only; test -e /etc/shadow || echo no-shadow';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nightshift-etc-'));
    await chmod(root, 0o755);
    const base = join(root, 'base');
    await mkdir(base);
    await writeFile(join(base, 'README.md'), 'x\n');
    await mkdir(join(root, 'closed'), { mode: 0o700 });
    const provider = new LocalSandboxProvider();
    for (const [i, runs] of [join(root, 'open', 'runs'), join(root, 'closed', 'runs')].entries()) {
      sandboxes.push(
        await provider.create({
          runId: `run_00000000000000etc${i}`,
          baseDir: base,
          stateDir: join(runs, `s${i}`),
        }),
      );
    }
  });

  afterAll(async () => {
    for (const sandbox of sandboxes) await sandbox.destroy({ discard: true });
    await rm(root, { recursive: true, force: true });
  });

  it('shows the same entries and files either way, read-only, with the sandbox user and no shadow', async () => {
    const [assembled, perEntry] = await Promise.all(
      sandboxes.map((sandbox) => sandbox.exec(['sh', '-c', script])),
    );

    expect(assembled!.stdout).toBe(perEntry!.stdout);
    expect(assembled!.stdout).toContain('os-release\n');
    expect(assembled!.stdout).toMatch(/nightshift\n1\nread-only\nno-shadow\n$/);
  });

  it('mounts /etc once where the template is used, and entry by entry where it cannot be (as root)', async () => {
    const etcMounts =
      'grep -c " /etc " /proc/self/mountinfo; grep -c " /etc/os-release " /proc/self/mountinfo';

    const [assembled, perEntry] = await Promise.all(
      sandboxes.map((sandbox) => sandbox.exec(['sh', '-c', etcMounts])),
    );

    expect(assembled!.stdout).toBe('1\n1\n');
    if (process.getuid?.() === 0) expect(perEntry!.stdout).toBe('0\n1\n');
  });
});
