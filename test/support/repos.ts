/** Git repositories and processes for tests: real git in temporary directories. */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Repo } from '../../src/core/run.ts';

const execFileAsync = promisify(execFile);

const TEST_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test Person',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test Person',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

/** Runs git in `cwd` with a fixed identity and no user config (test helper); returns trimmed stdout. */
export async function gitIn(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...process.env, ...TEST_ENV },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/** Writes `files` (path → content) under `dir`, creating folders. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** Commits everything in `dir` and returns the new commit. */
export async function commitAll(dir: string, message: string): Promise<string> {
  await gitIn(dir, 'add', '-A');
  await gitIn(dir, 'commit', '--quiet', '--allow-empty', '-m', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

/** A fresh temp directory and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A repository at `dir` on branch `main` with `files` committed; returns the commit. */
export async function makeRepo(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await gitIn(dir, 'init', '--quiet', '--initial-branch=main');
  await writeFiles(dir, files);
  return commitAll(dir, 'initial commit');
}

/** A Repo row for a local repository at `dir`. */
export function repoAt(dir: string, id = 'repo_test'): Repo {
  return { id, name: 'source', url: dir, defaultBranch: 'main', createdAt: new Date(0) };
}

/** Branches of a repository whose name starts with `nightshift/`. */
export async function nightshiftBranches(repo: string): Promise<string[]> {
  const out = await gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/nightshift/');
  return out ? out.split('\n') : [];
}

/** Pids of live processes whose command line contains `marker` (how tests find what they started). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
