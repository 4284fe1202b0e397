import { readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** Writable places of the sandbox where executing files may be allowed (`executables.allowExecFrom`). */
export const EXEC_PLACES = ['/workspace', '/tmp', '/home/nightshift'] as const;
export type ExecPlace = (typeof EXEC_PLACES)[number];

function realFile(path: string): { path: string; dev: number; ino: number } | undefined {
  try {
    const real = realpathSync(path);
    const stat = statSync(real);
    return stat.isFile() ? { path: real, dev: stat.dev, ino: stat.ino } : undefined;
  } catch {
    return undefined;
  }
}

/** Adds every file of `dir` to `index` under its device and inode, by real path. */
function indexDir(dir: string, index: Map<string, string[]>): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const stat = statSync(join(dir, name));
      if (!stat.isFile()) continue;
      const key = `${stat.dev}:${stat.ino}`;
      index.set(key, [...(index.get(key) ?? []), realpathSync(join(dir, name))]);
    } catch {}
  }
}

/**
 * The host files to mask so that the denied programs cannot run: each name resolved on every
 * directory of the sandbox PATH (not only the first hit), each absolute path as given, all through
 * their symlinks to the real file, plus every hard link of that file in the PATH directories and
 * beside it. Directories the sandbox can write to are skipped: they are `noexec` unless allowed.
 *
 * @example
 * deniedFiles(['curl'], ['/usr/bin', '/bin'], []) // ['/usr/bin/curl']
 */
export function deniedFiles(deny: string[], pathDirs: string[], writable: readonly string[]): string[] {
  const hostDirs = pathDirs.filter(
    (dir) => isAbsolute(dir) && !writable.some((place) => dir === place || dir.startsWith(`${place}/`)),
  );
  const realDirs = new Set<string>();
  for (const dir of hostDirs) {
    try {
      realDirs.add(realpathSync(dir));
    } catch {}
  }
  const files: { path: string; dev: number; ino: number }[] = [];
  for (const entry of deny) {
    const candidates = entry.includes('/') ? [entry] : hostDirs.map((dir) => join(dir, entry));
    for (const candidate of candidates) {
      const file = realFile(candidate);
      if (file) files.push(file);
    }
  }
  if (files.length === 0) return [];
  const index = new Map<string, string[]>();
  for (const dir of new Set([...realDirs, ...files.map((file) => dirname(file.path))])) indexDir(dir, index);
  const masked = new Set<string>();
  for (const file of files) {
    masked.add(file.path);
    for (const link of index.get(`${file.dev}:${file.ino}`) ?? []) masked.add(link);
  }
  return [...masked].sort();
}
