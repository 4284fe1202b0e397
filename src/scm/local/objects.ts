import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pacer } from '../../core/pace.ts';
import { readOr } from '../../core/sync-fs.ts';

/**
 * Fills `dest` (a new `objects` directory) with every object of `source`: its packs and loose
 * objects hard-linked (copied across file systems), and those of its alternates too, so the
 * result needs no path outside itself. Git objects are immutable, so sharing their files is
 * safe; git's own `clone --local` does the same. The directories are read and the links made
 * with synchronous calls (a tenth of the CPU of promises), giving the event loop a turn every
 * few hundred.
 */
export async function linkObjects(source: string, dest: string): Promise<void> {
  const seen = new Set<string>();
  const pace = pacer();
  const visit = async (dir: string): Promise<void> => {
    const real = resolve(dir);
    if (seen.has(real)) return;
    seen.add(real);
    await linkTree(real, dest, '', pace);
    for (const alternate of alternatesOf(real)) await visit(alternate);
  };
  mkdirSync(dest, { recursive: true });
  await visit(source);
}

/** The object directories `objects/info/alternates` lists (relative entries are relative to `objects`). */
function alternatesOf(objects: string): string[] {
  return readOr(() => readFileSync(join(objects, 'info', 'alternates'), 'utf8'), '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => (isAbsolute(line) ? line : resolve(objects, line)));
}

/** Links `from/sub` into `to/sub` recursively, leaving out `info/` (alternates, packs lists). */
async function linkTree(from: string, to: string, sub: string, pace: () => Promise<void>): Promise<void> {
  for (const entry of readdirSync(join(from, sub), { withFileTypes: true })) {
    const path = join(sub, entry.name);
    if (path === 'info') continue;
    await pace();
    if (entry.isDirectory()) {
      mkdirSync(join(to, path), { recursive: true });
      await linkTree(from, to, path, pace);
    } else if (entry.isFile()) {
      await linkOrCopy(join(from, path), join(to, path));
    }
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // The same object from two alternates, or a pack removed by a concurrent gc (its objects are in another).
    if (code === 'EEXIST' || code === 'ENOENT') return;
    // Across file systems: a pack may be big, so it is copied without holding the event loop.
    await copyFile(from, to);
  }
}

/**
 * Puts an object file at `path` as git does: `write` fills a temporary name beside it, which is
 * then renamed into place, so nothing ever reads half of an object.
 */
export async function placeObject(
  path: string,
  write: (temp: string) => void | Promise<void>,
): Promise<void> {
  const temp = `${path}.nightshift-${randomBytes(6).toString('hex')}`;
  try {
    await write(temp);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
