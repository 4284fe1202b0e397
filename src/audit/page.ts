import type { Queryable } from '../store/db.ts';
import type { HashedFields } from './hash.ts';
import { type AuditRow, auditWhere, hashedFieldsOf } from './log.ts';

/** Kinds whose every entry records a refusal. */
const DENIAL_KINDS = ['policy.denied', 'budget.exceeded'];

/** What one page of the log is searched by; every filter is optional. */
export interface AuditPageQuery {
  runId?: string;
  kind?: string;
  /** `allowed`: egress let through; `denied`: egress refused, policy denials, budget stops. */
  decision?: 'allowed' | 'denied';
  /** Case-insensitive text anywhere in the kind, run, actor or data. */
  text?: string;
  /** Entries with a smaller `seq` than this (the `nextBefore` of the previous page). */
  before?: number;
  limit: number;
}

/** One entry as stored, as `audit export` writes it: the hashed fields and the two hashes. */
export type AuditLine = HashedFields & { prev_hash: string; hash: string };

/** A page of the log, newest first; `nextBefore` is the cursor of the next (older) page. */
export interface AuditPage {
  entries: AuditLine[];
  nextBefore: number | null;
}

/**
 * One page of the audit log, newest first, filtered in SQL so a client never reads the whole
 * log to show its top.
 */
export async function auditPage(db: Queryable, query: AuditPageQuery): Promise<AuditPage> {
  const { where, params } = auditWhere({ runId: query.runId });
  const clauses = where ? [where.replace(/^WHERE /, '')] : [];
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.kind !== undefined) clauses.push(`kind = ${add(query.kind)}`);
  if (query.before !== undefined) clauses.push(`seq < ${add(query.before)}`);
  if (query.decision === 'allowed') clauses.push(`(kind = 'egress' AND data->>'allowed' = 'true')`);
  if (query.decision === 'denied') {
    clauses.push(
      `((kind = 'egress' AND data->>'allowed' = 'false') OR kind IN (${DENIAL_KINDS.map(add).join(', ')}))`,
    );
  }
  if (query.text) {
    const like = add(`%${query.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    clauses.push(
      `(kind ILIKE ${like} OR run_id ILIKE ${like} OR actor ILIKE ${like} OR data::text ILIKE ${like})`,
    );
  }
  const filter = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
  // One row more than asked tells whether an older page exists.
  const rows = await db.query<AuditRow>(
    `SELECT * FROM audit_log ${filter} ORDER BY seq DESC LIMIT ${add(query.limit + 1)}`,
    params,
  );
  const entries = rows
    .slice(0, query.limit)
    .map((row) => ({ ...hashedFieldsOf(row), prev_hash: row.prev_hash, hash: row.hash }));
  return { entries, nextBefore: rows.length > query.limit ? entries.at(-1)!.seq : null };
}
