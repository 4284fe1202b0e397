import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Memory a new process keeps outside the JS heap after opening a database: new, by initdb (the
 * template cache is empty); new, from the template the first left; and the first again.
 */
function externalMiB(dir: string): { initdb: number; template: number; again: number } {
  const script = join(dir, 'open.mts');
  writeFileSync(
    script,
    `import { openPglite } from ${JSON.stringify(join(import.meta.dirname, 'pglite.ts'))};
const db = await openPglite(process.argv[2]);
await db.query('CREATE TABLE IF NOT EXISTS t (n int)');
await db.query('INSERT INTO t VALUES (1)');
// Retained memory only: what a collection can free does not count (two, for finalizers).
const { gc } = globalThis as unknown as { gc: () => void };
gc();
await new Promise((resolve) => setTimeout(resolve, 200));
gc();
console.log(Math.round(process.memoryUsage().external / 2 ** 20));
await db.close();`,
  );
  const env = { ...process.env, NIGHTSHIFT_CACHE_DIR: join(dir, 'cache') };
  const run = (db: string) =>
    Number(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, join(dir, db)], {
        encoding: 'utf8',
        env,
      }).trim(),
    );
  return { initdb: run('first'), template: run('second'), again: run('first') };
}

describe('the embedded database', () => {
  it('does not keep the memory of creating a new database: a new home costs what an existing one does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-pglite-'));
    try {
      const { initdb, template, again } = externalMiB(dir);

      // Creating keeps initdb's WebAssembly memory (about 450 MiB more) unless the database is reopened.
      expect(initdb).toBeLessThan(again + 100);
      expect(template).toBeLessThan(again + 100);
      expect(again).toBeGreaterThan(0);
      expect(existsSync(join(dir, 'second', 'PG_VERSION'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
