import { createHash } from 'node:crypto';

/** The `prev_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every level, so the same value always gives the same text
 * (PostgreSQL's jsonb reorders keys). Values are taken as `JSON.stringify` sees them.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value ?? null))));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** The fields an entry's hash covers, as stored (and as `audit export` writes them). */
export interface HashedFields {
  seq: number;
  /** ISO 8601 with milliseconds, UTC (`Date.toISOString()`). */
  at: string;
  kind: string;
  run_id: string | null;
  actor: string | null;
  data: unknown;
}

/** `sha256(prev_hash + canonical JSON of {seq, at, kind, run_id, actor, data})`, hex. */
export function entryHash(prevHash: string, fields: HashedFields): string {
  const { seq, at, kind, run_id, actor, data } = fields;
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ seq, at, kind, run_id, actor, data }))
    .digest('hex');
}
