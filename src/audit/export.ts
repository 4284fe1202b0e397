import { NightshiftError } from '../core/errors.ts';
import type { Queryable } from '../store/db.ts';
import type { Store } from '../store/index.ts';
import { type AuditRow, auditWhere, hashedFieldsOf } from './log.ts';

export interface ExportOptions {
  since?: Date;
  runId?: string;
  /** Rows read per query (default 500). */
  pageSize?: number;
}

/**
 * The log as JSON Lines (each string one line ending in `\n`), oldest first, read in pages.
 * Lines carry the stored fields, so each can be checked on its own:
 * `hash = sha256(prev_hash + canonical JSON of {seq, at, kind, run_id, actor, data})`.
 */
export async function* exportAudit(db: Queryable, options: ExportOptions = {}): AsyncIterable<string> {
  const pageSize = options.pageSize ?? 500;
  let afterSeq = 0;
  for (;;) {
    const { where, params } = auditWhere({ since: options.since, runId: options.runId, afterSeq });
    params.push(pageSize);
    const rows = await db.query<AuditRow>(
      `SELECT * FROM audit_log ${where} ORDER BY seq LIMIT $${params.length}`,
      params,
    );
    for (const row of rows) {
      const line = { ...hashedFieldsOf(row), prev_hash: row.prev_hash, hash: row.hash };
      yield `${JSON.stringify(line)}\n`;
      afterSeq = line.seq;
    }
    if (rows.length < pageSize) return;
  }
}

/** A run id for audit filters: the full id of a known run (a suffix works), else the text as given (entries outlive runs). */
export async function auditRunId(store: Store, idOrSuffix: string): Promise<string> {
  try {
    return (await store.getRun(idOrSuffix)).id;
  } catch (error) {
    if (error instanceof NightshiftError && error.code === 'NOT_FOUND') return idOrSuffix;
    throw error;
  }
}
