import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

const provider = new LocalSandboxProvider();
const roots: string[] = [];
const sandboxes: LocalSandbox[] = [];

async function makeBase(): Promise<{ root: string; baseDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'nightshift-workspace-'));
  roots.push(root);
  const baseDir = join(root, 'base');
  await mkdir(join(baseDir, 'src'), { recursive: true });
  await writeFile(join(baseDir, 'README.md'), '# demo\n');
  await writeFile(join(baseDir, 'src', 'main.txt'), 'original\n');
  return { root, baseDir };
}

async function create(baseDir: string, stateDir: string): Promise<LocalSandbox> {
  const sandbox = await provider.create({ runId: 'run_0000000000workspace1', baseDir, stateDir });
  sandboxes.push(sandbox);
  return sandbox;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = entry.isFile() ? await readFile(path, 'utf8') : 'dir';
  }
  return files;
}

afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.destroy({ discard: true });
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

describe('local sandbox workspace', () => {
  it('shows the base at /workspace and keeps writes in the sandbox, never in the base', async () => {
    const { root, baseDir } = await makeBase();
    const before = await snapshot(baseDir);
    const sandbox = await create(baseDir, join(root, 'state'));

    const result = await sandbox.exec([
      'sh',
      '-c',
      'cat README.md && echo changed > src/main.txt && echo new > added.txt && rm README.md && mkdir -p deep/er',
    ]);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('# demo\n');
    expect(await snapshot(baseDir)).toEqual(before);
  });

  it('keeps files across execs of one sandbox', async () => {
    const { root, baseDir } = await makeBase();
    const sandbox = await create(baseDir, join(root, 'state'));

    await sandbox.exec(['sh', '-c', 'echo first > notes.txt && echo 1 > /tmp/t && echo 2 > ~/h']);
    const second = await sandbox.exec(['sh', '-c', 'cat notes.txt /tmp/t ~/h']);

    expect(second.stdout).toBe('first\n1\n2\n');
  });

  it('mounts /tmp and home, capped and noexec, in a state dir whose path has a space and a tab', async () => {
    const { root, baseDir } = await makeBase();
    const sandbox = await provider.create({
      runId: 'run_0000000000workspace2',
      baseDir,
      stateDir: join(root, 'my state\tdir'),
      limits: { diskBytes: 64 * 2 ** 20 },
    });
    sandboxes.push(sandbox);

    const result = await sandbox.exec([
      'sh',
      '-c',
      'echo 1 > /tmp/t && echo 2 > ~/h && echo 3 > w && cat /tmp/t ~/h w && grep -E " (/tmp|/home/nightshift) " /proc/self/mountinfo',
    ]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^1\n2\n3\n/);
    expect(result.stdout).toMatch(/ \/tmp [^ ]*noexec.* tmpfs nightshift-tmp [^ ]*size=/);
    expect(result.stdout).toMatch(/ \/home\/nightshift [^ ]*noexec.* tmpfs nightshift-home [^ ]*size=/);
  });

  it('keeps two sandboxes on one base independent', async () => {
    const { root, baseDir } = await makeBase();
    const one = await create(baseDir, join(root, 'state-1'));
    const two = await create(baseDir, join(root, 'state-2'));

    await one.exec(['sh', '-c', 'echo one > src/main.txt']);
    await two.exec(['sh', '-c', 'echo two > src/main.txt']);
    const fromOne = await one.exec(['cat', 'src/main.txt']);
    const fromTwo = await two.exec(['cat', 'src/main.txt']);

    expect(fromOne.stdout).toBe('one\n');
    expect(fromTwo.stdout).toBe('two\n');
  });

  it('fails writes to the host file system outside /workspace', async () => {
    const { root, baseDir } = await makeBase();
    const sandbox = await create(baseDir, join(root, 'state'));

    const result = await sandbox.exec([
      'sh',
      '-c',
      'for p in /x /etc/x /usr/x /usr/bin/x /home/x /var/x /proc/x; do touch $p 2>/dev/null && echo wrote $p; done; echo done',
    ]);

    expect(result.stdout).toBe('done\n');
  });

  it('runs commands in a cwd relative to /workspace', async () => {
    const { root, baseDir } = await makeBase();
    const sandbox = await create(baseDir, join(root, 'state'));

    const result = await sandbox.exec(['pwd'], { cwd: 'src' });

    expect(result.stdout).toBe('/workspace/src\n');
  });

  it('lets the view see the sandbox writes at view.path', async () => {
    const { root, baseDir } = await makeBase();
    const sandbox = await create(baseDir, join(root, 'state'));
    await sandbox.exec(['sh', '-c', 'echo from-sandbox > made.txt']);

    const seen = await sandbox.view.exec(['sh', '-c', 'pwd && cat made.txt src/main.txt']);

    expect(seen).toEqual({
      exitCode: 0,
      stdout: `${sandbox.view.path}\nfrom-sandbox\noriginal\n`,
      stderr: '',
    });
    // Outside the view's namespace the path is only an empty mount point.
    expect(await readdir(sandbox.view.path)).toEqual([]);
    // A relative cwd is in the workspace.
    const inSrc = await sandbox.view.exec(['sh', '-c', 'pwd && cat main.txt'], { cwd: 'src' });
    expect(inSrc.stdout).toBe(`${sandbox.view.path}/src\noriginal\n`);
  });

  it('removes the state dir on destroy with discard, and keeps it without', async () => {
    const { root, baseDir } = await makeBase();
    const kept = await provider.create({
      runId: 'run_0000000000workspace2',
      baseDir,
      stateDir: join(root, 'kept'),
    });
    const gone = await provider.create({
      runId: 'run_0000000000workspace3',
      baseDir,
      stateDir: join(root, 'gone'),
    });
    await kept.exec(['sh', '-c', 'echo x > kept.txt']);
    // A tree of more files than one pass of the removal takes, and a link to a host directory,
    // which is removed as a link: what it points to stays.
    const outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'keep me');
    await gone.exec([
      'sh',
      '-c',
      `mkdir -p a/b/c && for i in $(seq 300); do echo $i > a/b/c/f$i; done && ln -s ${outside} link`,
    ]);

    await kept.destroy();
    await gone.destroy({ discard: true });

    expect(await readFile(join(root, 'kept', 'upper', 'kept.txt'), 'utf8')).toBe('x\n');
    await expect(stat(join(root, 'gone'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(outside, 'precious'), 'utf8')).toBe('keep me');
    await expect(kept.exec(['true'])).rejects.toMatchObject({ code: 'SANDBOX_FAILED' });
  });
});
