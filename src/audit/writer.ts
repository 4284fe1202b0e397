import { BatchWriter } from '../core/batch-writer.ts';
import type { Db } from '../store/db.ts';
import type { NewAuditEntry } from './entries.ts';
import { appendAudit } from './log.ts';

/**
 * Appends audit entries in order, in batches: at most one a second (a chatty egress or a busy
 * build makes many entries a second, and each batch takes the chain's lock), and at once on
 * `flush` (a run flushes before it concludes, so a short run writes one batch).
 */
export class AuditWriter extends BatchWriter<NewAuditEntry> {
  constructor(db: Db) {
    super((batch) => appendAudit(db, batch), 1000);
  }
}
