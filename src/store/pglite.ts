import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { NightshiftError } from '../core/errors.ts';
import { resolveCacheDir } from '../core/home.ts';
import type { Db, Queryable } from './db.ts';
import { preparedStatements } from './pglite-statements.ts';
import { readTemplate, saveTemplate, templatePath } from './pglite-template.ts';

/**
 * The embedded database, in `dir` or in memory. Only one process may open a directory at a
 * time (see the home lock). A new database starts from the template in `cacheDir` (see
 * {@link templatePath}); the first one made without it leaves one there.
 */
export async function openPglite(dir?: string, cacheDir = resolveCacheDir()): Promise<Db> {
  if (dir) mkdirSync(dir, { recursive: true });
  let pg: PGlite;
  try {
    if (dir === undefined || readdirSync(dir).length === 0) {
      pg = await create(dir, cacheDir);
    } else {
      // Other files, and maybe no database yet: PGlite runs initdb among them, as it always did.
      const created = !existsSync(join(dir, 'PG_VERSION'));
      pg = await started(new PGlite(dir));
      if (created) pg = await reopened(pg, dir);
    }
  } catch (error) {
    throw new NightshiftError(
      'STORE_FAILED',
      `cannot open the embedded database ${dir ? `in ${dir}` : 'in memory'}`,
      {
        hint: 'another process may be using it, or the directory is damaged; check the Nightshift home',
        cause: error,
      },
    );
  }
  const prepared = preparedStatements(pg);
  // PGlite runs one query or transaction at a time (the home lock keeps other processes out).
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>, inTransaction: boolean): Queryable => ({
    serialized: true,
    async query<T>(sql: string, params?: unknown[]) {
      if (prepared) return prepared.query<T>(sql, params ?? [], inTransaction);
      const result = await q.query<T>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pg, false),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx, true))),
    acrossProcesses: (_name, fn) => fn(),
    close: () => pg.close(),
  };
}

/** `pg` once it is ready; closed if it never gets there. */
async function started(pg: PGlite): Promise<PGlite> {
  try {
    await pg.waitReady;
    return pg;
  } catch (error) {
    await pg.close().catch(() => {});
    throw error;
  }
}

/**
 * A new database in `dir` (empty) or in memory: from the template when there is one, else by
 * `initdb`, whose result then becomes the template. A damaged template (not a tarball, or one
 * PGlite cannot start from) is replaced.
 */
async function create(dir: string | undefined, cacheDir: string): Promise<PGlite> {
  const template = templatePath(cacheDir);
  const tarball = await readTemplate(template);
  if (tarball) {
    try {
      return await started(new PGlite({ dataDir: dir, loadDataDir: tarball }));
    } catch {
      await rm(template, { force: true });
      if (dir) {
        await rm(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
      }
    }
  }
  const pg = await started(new PGlite(dir));
  await saveTemplate(pg, template);
  return dir === undefined ? pg : reopened(pg, dir);
}

/**
 * `pg` closed and opened again: `initdb` leaves hundreds of MiB of WebAssembly memory behind,
 * which a new instance, starting from what is on disk, does not have.
 */
async function reopened(pg: PGlite, dir: string): Promise<PGlite> {
  await pg.close();
  return started(new PGlite(dir));
}
