import { BatchWriter } from '../core/batch-writer.ts';
import type { Db } from '../store/db.ts';
import type { NewAuditEntry } from './entries.ts';
import { appendAudit } from './log.ts';

/** Appends audit entries in order, in batches (a chatty egress or a busy build makes many a second). */
export class AuditWriter extends BatchWriter<NewAuditEntry> {
  constructor(db: Db) {
    super((batch) => appendAudit(db, batch), 200);
  }
}
