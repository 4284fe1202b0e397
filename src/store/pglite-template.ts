import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

let pgliteVersion: string | undefined;

/**
 * Where new embedded databases start from: a tarball of a data dir fresh from `initdb`, one per
 * PGlite version (another build may not read it). Running `initdb` takes PGlite two more
 * WebAssembly instances and seconds of CPU; loading the tarball, a fraction of that.
 */
export function templatePath(cacheDir: string): string {
  if (!pgliteVersion) {
    // The package's entry point is dist/index.js, one level under its root.
    const root = join(dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))), '..');
    pgliteVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  }
  return join(cacheDir, `pglite-${pgliteVersion}.tar`);
}

/**
 * The template at `path`, or null when there is none, it cannot be read, or it is not an
 * uncompressed tarball (PGlite would take anything else for gzip, and fail outside any caller's
 * reach). A tarball PGlite cannot start from is for the caller to find out.
 */
export async function readTemplate(path: string): Promise<Blob | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return null;
  }
  // A tar file is made of 512-byte blocks; the first header says "ustar" at offset 257.
  const tarball =
    bytes.length >= 1024 && bytes.length % 512 === 0 && bytes.toString('latin1', 257, 262) === 'ustar';
  // (A copy: a Blob part must be backed by an ArrayBuffer, which a Buffer is not said to be.)
  return tarball ? new Blob([new Uint8Array(bytes)]) : null;
}

/**
 * Saves the data dir of `pg`, a database `initdb` has just made (nothing written to it yet), as
 * the template at `path`. Written aside and renamed, so a reader never sees half of one. A
 * cache: when it cannot be written, the next new database runs `initdb` again, nothing else.
 */
export async function saveTemplate(pg: PGlite, path: string): Promise<void> {
  const aside = `${path}.${process.pid}.tmp`;
  try {
    // What is in memory only would not be in the tarball.
    await pg.exec('CHECKPOINT');
    const tarball = await pg.dumpDataDir('none');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(aside, new Uint8Array(await tarball.arrayBuffer()));
    await rename(aside, path);
  } catch {
    await rm(aside, { force: true }).catch(() => {});
  }
}
