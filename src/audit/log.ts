import { invalidInput } from '../core/errors.ts';
import { type Db, lockForTransaction, type Queryable } from '../store/db.ts';
import { type AuditEntry, type AuditKind, checkAuditEntry, type NewAuditEntry } from './entries.ts';
import { entryHash, GENESIS_HASH } from './hash.ts';

/** Same number in every process, so appends from several processes form one chain. */
const AUDIT_LOCK = 7_245_002;

/** A row of `audit_log` as the drivers return it (`seq` is a bigint: a string or a bigint). */
export interface AuditRow {
  seq: number | string | bigint;
  at: Date | string;
  kind: string;
  run_id: string | null;
  actor: string | null;
  data: unknown;
  prev_hash: string;
  hash: string;
}

/** The exact ISO text an entry was hashed with. */
export function rowAt(row: Pick<AuditRow, 'at'>): string {
  return (row.at instanceof Date ? row.at : new Date(row.at)).toISOString();
}

/** The fields of a stored row that its hash covers, as they were hashed. */
export function hashedFieldsOf(row: AuditRow) {
  return {
    seq: Number(row.seq),
    at: rowAt(row),
    kind: row.kind,
    run_id: row.run_id,
    actor: row.actor,
    data: row.data,
  };
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: new Date(rowAt(row)),
    kind: row.kind as AuditKind,
    runId: row.run_id,
    actor: row.actor,
    data: row.data as AuditEntry['data'],
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Appends entries inside the caller's transaction `tx`, after every entry committed before.
 * A transaction-scoped advisory lock serializes appenders (across processes on PostgreSQL; the
 * embedded database runs one transaction at a time), so the chain stays linear; append last
 * in a transaction, as the lock is held until it ends.
 */
export async function appendAuditIn(tx: Queryable, entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
  if (entries.length === 0) return [];
  const checked = entries.map(checkAuditEntry);
  await lockForTransaction(tx, AUDIT_LOCK);
  const last = await tx.query<Pick<AuditRow, 'seq' | 'hash'>>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  let seq = last[0] ? Number(last[0].seq) : 0;
  let prevHash = last[0]?.hash ?? GENESIS_HASH;
  const at = new Date().toISOString();
  const values: string[] = [];
  const args: unknown[] = [];
  for (const entry of checked) {
    seq += 1;
    const fields = {
      seq,
      at,
      kind: entry.kind,
      run_id: entry.runId ?? null,
      actor: entry.actor ?? null,
      data: JSON.parse(JSON.stringify(entry.data)) as unknown,
    };
    const hash = entryHash(prevHash, fields);
    args.push(seq, at, fields.kind, fields.run_id, fields.actor, JSON.stringify(fields.data), prevHash, hash);
    const n = args.length;
    values.push(
      `($${n - 7}, $${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}::jsonb, $${n - 1}, $${n})`,
    );
    prevHash = hash;
  }
  const rows = await tx.query<AuditRow>(
    `INSERT INTO audit_log (seq, at, kind, run_id, actor, data, prev_hash, hash) VALUES ${values.join(', ')} RETURNING *`,
    args,
  );
  return rows.map(toAuditEntry).sort((a, b) => a.seq - b.seq);
}

/** Appends entries in their own transaction; see {@link appendAuditIn}. */
export function appendAudit(
  db: Db,
  entries: NewAuditEntry | readonly NewAuditEntry[],
): Promise<AuditEntry[]> {
  const list = Array.isArray(entries) ? entries : [entries as NewAuditEntry];
  return db.transaction((tx) => appendAuditIn(tx, list));
}

export interface AuditFilter {
  runId?: string;
  kind?: AuditKind;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries after this sequence number (a cursor). */
  afterSeq?: number;
  /** At most this many (default 1000). */
  limit?: number;
}

/** Builds the WHERE clause shared by listing and export. */
export function auditWhere(filter: AuditFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.afterSeq !== undefined) {
    params.push(filter.afterSeq);
    clauses.push(`seq > $${params.length}`);
  }
  if (filter.runId !== undefined) {
    params.push(filter.runId);
    clauses.push(`run_id = $${params.length}`);
  }
  if (filter.kind !== undefined) {
    params.push(filter.kind);
    clauses.push(`kind = $${params.length}`);
  }
  if (filter.since !== undefined) {
    if (Number.isNaN(filter.since.getTime()))
      throw invalidInput('the audit `since` time is not a valid date');
    params.push(filter.since.toISOString());
    clauses.push(`at >= $${params.length}`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Entries matching `filter`, oldest first. */
export async function listAudit(db: Queryable, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const { where, params } = auditWhere(filter);
  params.push(filter.limit ?? 1000);
  const rows = await db.query<AuditRow>(
    `SELECT * FROM audit_log ${where} ORDER BY seq LIMIT $${params.length}`,
    params,
  );
  return rows.map(toAuditEntry);
}

/**
 * The audit log over one database.
 *
 * @example
 * const audit = new AuditLog(store.db);
 * await audit.append({ kind: 'secret.used', runId, data: { names: ['NPM_TOKEN'] } });
 */
export class AuditLog {
  constructor(readonly db: Db) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const [appended] = await appendAudit(this.db, [entry]);
    return appended!;
  }

  appendMany(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    return appendAudit(this.db, entries);
  }

  list(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    return listAudit(this.db, filter);
  }
}
