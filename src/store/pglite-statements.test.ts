import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './db.ts';
import { openPglite } from './pglite.ts';
import { type PreparedStatements, preparedStatements } from './pglite-statements.ts';

describe('preparedStatements', () => {
  let pg: PGlite;
  let statements: PreparedStatements;

  beforeAll(async () => {
    pg = new PGlite();
    await pg.waitReady;
    statements = preparedStatements(pg)!;
    await pg.exec('CREATE TABLE t (id int PRIMARY KEY, tags text[], data jsonb, at timestamptz, note text)');
  });

  afterAll(async () => {
    await pg.close();
  });

  const query = <T>(sql: string, params: unknown[] = []) => statements.query<T>(sql, params, false);

  it('returns what PGlite’s own query returns, for each kind of parameter and result', async () => {
    const at = new Date('2026-12-07T08:00:00.000Z');
    const insert = 'INSERT INTO t (id, tags, data, at, note) VALUES ($1, $2, $3, $4, $5) RETURNING *';
    const params = [1, ['a', 'b,c', 'd"e'], { nested: { n: 1 }, list: [1, 'x'] }, at, null];
    const prepared = await query(insert, params);
    expect(prepared).toEqual([{ id: 1, tags: ['a', 'b,c', 'd"e'], data: params[2], at, note: null }]);
    const plain = (await pg.query('SELECT * FROM t WHERE id = $1', [1])).rows;
    expect(await query('SELECT * FROM t WHERE id = $1', [1])).toEqual(plain);
    // A statement run again is executed from its preparation, with new values.
    await query(insert, [2, [], [], at, 'two']);
    expect(await query('SELECT id, note FROM t WHERE id = $1', [2])).toEqual([{ id: 2, note: 'two' }]);
    expect(await query('SELECT count(*)::int AS n FROM t')).toEqual([{ n: 2 }]);
  });

  it('reports a bad statement with the statement, and goes on working', async () => {
    await expect(query('SELEC 1')).rejects.toMatchObject({
      message: expect.stringMatching(/syntax error/),
      query: 'SELEC 1',
    });
    await expect(query('SELECT $1::int AS n', ['x'])).rejects.toMatchObject({
      message: expect.stringMatching(/invalid input syntax for type integer/),
      params: ['x'],
    });
    expect(await query('SELECT $1::int AS n', [7])).toEqual([{ n: 7 }]);
  });

  it('prepares a statement again when a table it reads changed shape', async () => {
    await pg.exec('CREATE TABLE shape (a int)');
    await pg.exec('INSERT INTO shape VALUES (1)');
    expect(await query('SELECT * FROM shape WHERE a = $1', [1])).toEqual([{ a: 1 }]);
    await pg.exec('ALTER TABLE shape ADD COLUMN b text');
    expect(await query('SELECT * FROM shape WHERE a = $1', [1])).toEqual([{ a: 1, b: null }]);
    // In a transaction it fails the transaction with PostgreSQL's own message, and is prepared
    // again on its next use.
    await pg.exec('ALTER TABLE shape ADD COLUMN c text');
    await expect(
      pg.transaction(() => statements.query('SELECT * FROM shape WHERE a = $1', [1], true)),
    ).rejects.toThrow(/cached plan must not change result type/);
    expect(await query('SELECT * FROM shape WHERE a = $1', [1])).toEqual([{ a: 1, b: null, c: null }]);
  });

  it('keeps at most 256 statements prepared, preparing a dropped one again when it comes back', async () => {
    for (let i = 0; i < 300; i++)
      expect(await query(`SELECT $1::int + ${i} AS n`, [1])).toEqual([{ n: i + 1 }]);
    expect(statements.size).toBe(256);
    const prepared = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements');
    expect(prepared.rows[0]!.n).toBe(256);
    expect(await query('SELECT $1::int + 0 AS n', [5])).toEqual([{ n: 5 }]);
  });

  it('is not used with a PGlite lacking the internals it needs', () => {
    expect(preparedStatements({} as PGlite)).toBeNull();
  });
});

describe('the embedded database with prepared statements', () => {
  let db: Db;

  beforeAll(async () => {
    db = await openPglite();
    await db.exec('CREATE TABLE items (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await db.close();
  });

  it('runs a statement from outside a transaction after it, never inside it', async () => {
    let inserted!: () => void;
    const insertedPromise = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const failed = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id) VALUES ($1)', [1]);
      inserted();
      await released;
      throw new Error('rolled back');
    });
    await insertedPromise;
    const outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id > $1', [0]);
    release();
    await expect(failed).rejects.toThrow('rolled back');
    // Run inside the transaction, it would have counted the row that was rolled back.
    expect(await outside).toEqual([{ n: 0 }]);
  });

  it('rolls back a transaction whose statement failed, and runs that statement again after', async () => {
    const insert = 'INSERT INTO items (id) VALUES ($1)';
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [10]);
        await tx.query(insert, [10]);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await db.query('SELECT id FROM items WHERE id = $1', [10])).toEqual([]);
    await db.query(insert, [10]);
    expect(await db.query('SELECT id FROM items WHERE id = $1', [10])).toEqual([{ id: 10 }]);
  });
});
