import type { Queryable } from '../store/db.ts';
import { entryHash, GENESIS_HASH } from './hash.ts';
import { type AuditRow, hashedFieldsOf } from './log.ts';

/**
 * What is wrong with the first bad entry:
 * - `edited`: the entry is in the chain (the next entry links to it) but its content no longer matches its hash;
 * - `removed`: an entry is missing (a gap in `seq`, or an entry links to a predecessor that is gone);
 * - `reordered`: entries are out of order (an entry links to one stored after it);
 * - `inserted`: an entry nothing in the chain vouches for (a forged entry; for the newest entry,
 *   an edit looks the same, as no later entry links to it).
 */
export type AuditProblem = 'edited' | 'removed' | 'reordered' | 'inserted';

export interface AuditVerification {
  ok: boolean;
  /** Entries checked (all of them when `ok`). */
  entries: number;
  /** The newest entry: keep it elsewhere to detect a truncated or rewritten log later. */
  head: { seq: number; hash: string } | null;
  firstBad?: { seq: number; problem: AuditProblem; detail: string };
}

export interface VerifyOptions {
  /** A head recorded earlier (`verify --json` prints it): the log must still contain it unchanged. */
  expectHead?: { seq: number; hash: string };
  pageSize?: number;
}

/**
 * Walks the whole chain in pages, recomputing every hash and link, and stops at the first
 * entry that does not fit.
 */
export async function verifyAudit(db: Queryable, options: VerifyOptions = {}): Promise<AuditVerification> {
  const pageSize = options.pageSize ?? 1000;
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let entries = 0;
  const broken = (seq: number, problem: AuditProblem, detail: string): AuditVerification => ({
    ok: false,
    entries,
    head: prevSeq > 0 ? { seq: prevSeq, hash: prevHash } : null,
    firstBad: { seq, problem, detail },
  });
  for (;;) {
    const rows = await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [
      prevSeq,
      pageSize,
    ]);
    for (const row of rows) {
      const seq = Number(row.seq);
      entries += 1;
      if (seq !== prevSeq + 1) {
        return broken(prevSeq + 1, 'removed', `entry ${prevSeq + 1} is missing (the next entry is ${seq})`);
      }
      const contentOk = entryHash(row.prev_hash, hashedFieldsOf(row)) === row.hash;
      if (row.prev_hash !== prevHash) {
        const linked = await db.query<{ seq: unknown }>(
          'SELECT seq FROM audit_log WHERE hash = $1 AND seq <> $2 LIMIT 1',
          [row.prev_hash, seq],
        );
        const target = linked[0] ? Number(linked[0].seq) : null;
        if (target !== null && target > seq) {
          return broken(seq, 'reordered', `entry ${seq} follows entry ${target}, which is stored after it`);
        }
        if (target !== null) {
          return broken(
            prevSeq,
            'inserted',
            `entry ${prevSeq} is not in the chain (entry ${seq} links to ${target})`,
          );
        }
        const shift = contentOk ? 0 : renumbering(row);
        if (contentOk || (shift !== null && shift > 0)) {
          return broken(seq, 'removed', `the entry before entry ${seq} in the chain is gone`);
        }
        return broken(
          seq,
          'inserted',
          `entry ${seq} does not link to entry ${prevSeq} and does not match its hash`,
        );
      }
      if (!contentOk) {
        const next = await db.query<{ prev_hash: string }>(
          'SELECT prev_hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1',
          [seq],
        );
        if (next[0]?.prev_hash === row.hash) {
          return broken(seq, 'edited', `entry ${seq} was changed after it was written`);
        }
        return broken(seq, 'inserted', `entry ${seq} does not match its hash and no later entry links to it`);
      }
      prevSeq = seq;
      prevHash = row.hash;
    }
    if (rows.length < pageSize) break;
  }
  const head = prevSeq > 0 ? { seq: prevSeq, hash: prevHash } : null;
  const expected = options.expectHead;
  if (expected) {
    if (expected.seq > prevSeq) {
      return broken(
        expected.seq,
        'removed',
        `entry ${expected.seq} of the recorded head is gone (the log ends at ${prevSeq})`,
      );
    }
    const rows = await db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [
      expected.seq,
    ]);
    if (rows[0]?.hash !== expected.hash) {
      return broken(
        expected.seq,
        'edited',
        `entry ${expected.seq} differs from the recorded head: the log was rewritten`,
      );
    }
  }
  return { ok: true, entries, head };
}

/** How far an entry was renumbered (its hash matches another `seq`), or null. */
function renumbering(row: AuditRow): number | null {
  const fields = hashedFieldsOf(row);
  for (let shift = 1; shift <= MAX_RENUMBERING; shift++) {
    for (const d of [shift, -shift]) {
      if (entryHash(row.prev_hash, { ...fields, seq: fields.seq + d }) === row.hash) return d;
    }
  }
  return null;
}

/** How many removed or inserted entries before it `renumbering` looks for. */
const MAX_RENUMBERING = 1000;
