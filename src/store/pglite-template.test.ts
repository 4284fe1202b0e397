import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPglite } from './pglite.ts';
import { templatePath } from './pglite-template.ts';

describe('the embedded database template', () => {
  let dir: string;
  let cache: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-template-'));
    cache = join(dir, 'cache');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const publicTables = async (db: Awaited<ReturnType<typeof openPglite>>) =>
    (
      await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).map((r) => r.tablename);

  it('is left in the cache by the first new database, as initdb made it: nothing written since is in it', async () => {
    const first = await openPglite(join(dir, 'first'), cache);
    await first.query('CREATE TABLE written_after (n int)');
    await first.close();

    expect(existsSync(templatePath(cache))).toBe(true);
    const second = await openPglite(undefined, cache);
    expect(await publicTables(second)).toEqual([]);
    await second.close();
  });

  it('is where new databases, in a directory or in memory, start from', async () => {
    // A template with a table in it: a database that has it came from the template.
    const marked = new PGlite();
    await marked.exec('CREATE TABLE from_template (n int); CHECKPOINT');
    const tarball = await marked.dumpDataDir('none');
    await marked.close();
    await mkdir(dirname(templatePath(cache)), { recursive: true });
    await writeFile(templatePath(cache), new Uint8Array(await tarball.arrayBuffer()));

    const inDir = await openPglite(join(dir, 'home', 'db'), cache);
    const inMemory = await openPglite(undefined, cache);

    expect(await publicTables(inDir)).toEqual(['from_template']);
    expect(await publicTables(inMemory)).toEqual(['from_template']);
    await inDir.close();
    await inMemory.close();
    // An existing database is opened as it is, whatever the template holds.
    const again = await openPglite(join(dir, 'home', 'db'), join(dir, 'no-cache'));
    expect(await publicTables(again)).toEqual(['from_template']);
    await again.close();
  });

  it.each([
    ['not a tarball', () => Buffer.from('not a tarball\n'.repeat(1000))],
    ['a tarball cut short', (made: Buffer) => made.subarray(0, 20_000_000 - (20_000_000 % 512))],
  ])('made damaged (%s) is replaced: the new database is made by initdb, and works', async (_, damage) => {
    const made = await openPglite(undefined, cache);
    await made.close();
    const template = templatePath(cache);
    const damaged = damage(readFileSync(template));
    writeFileSync(template, damaged);

    const db = await openPglite(join(dir, 'db'), cache);

    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
    expect(readFileSync(template).equals(damaged)).toBe(false);
    const next = await openPglite(undefined, cache);
    expect(await publicTables(next)).toEqual([]);
    await next.close();
  });

  it('only costs time when the cache cannot be written: the database opens without one', async () => {
    // A cache dir under a regular file can never be made, root or not.
    writeFileSync(join(dir, 'file'), '');
    const unwritable = join(dir, 'file', 'cache');

    const db = await openPglite(join(dir, 'db'), unwritable);

    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
    expect(statSync(join(dir, 'file')).isFile()).toBe(true);
  });
});
