/** The audit log: an append-only hash chain of every consequential action, across all runs. */
export {
  AUDIT_DATA,
  AUDIT_KINDS,
  type AuditData,
  type AuditEntry,
  type AuditKind,
  checkAuditEntry,
  type NewAuditEntry,
  SecretName,
} from './entries.ts';
export { execAuditEntries } from './exec.ts';
export { auditRunId, type ExportOptions, exportAudit } from './export.ts';
export { canonicalJson, entryHash, GENESIS_HASH, type HashedFields } from './hash.ts';
export { type AuditFilter, AuditLog, appendAudit, appendAuditIn, listAudit } from './log.ts';
export { type AuditProblem, type AuditVerification, type VerifyOptions, verifyAudit } from './verify.ts';
export { AuditWriter } from './writer.ts';
