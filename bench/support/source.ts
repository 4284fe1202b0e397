import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Git with a fixed identity and no user or system config, as the baseline script gets it. */
export const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

/** Runs git in `cwd`; returns trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: GIT_ENV, maxBuffer: 64 << 20 });
  return stdout.trim();
}

/**
 * A repository at `dir` on branch `main` with `files` small source files in 420 folders, in
 * one commit, packed as a real repository's objects are. Returns the commit.
 */
export async function makeSourceRepo(dir: string, files: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  for (let i = 0; i < files; i++) {
    const folder = join(dir, `pkg${i % 60}`, `mod${i % 7}`);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file${i}.ts`), `export const value${i} = ${i};\n`.repeat(20));
  }
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', 'initial');
  await git(dir, 'repack', '-adq');
  return git(dir, 'rev-parse', 'HEAD');
}
