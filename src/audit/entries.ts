import { z } from 'zod';
import { invalidInput } from '../core/errors.ts';

/** Prefixes of well-known credentials: a "name" starting with one of these is a value, refused. */
const SECRET_VALUE_PREFIXES = ['ghp_', 'gho_', 'ghs_', 'ghu_', 'github_pat_', 'glpat-', 'sk-', 'xox', 'AKIA'];

/** A secret's name as a setup step sees it (an environment variable name), never its value. */
export const SecretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a secret name is an identifier such as NPM_TOKEN, never a value')
  .refine(
    (name) => !SECRET_VALUE_PREFIXES.some((prefix) => name.startsWith(prefix)),
    'this looks like a credential value, not a secret name',
  );

const count = z.number().int().nonnegative();

/** The data each kind of audit entry carries; objects are strict so nothing else slips in. */
export const AUDIT_DATA = {
  'sandbox.created': z.strictObject({ sandboxId: z.string(), provider: z.string().optional() }),
  'sandbox.destroyed': z.strictObject({ sandboxId: z.string(), reason: z.string().optional() }),
  exec: z.strictObject({
    argv: z.array(z.string()).min(1),
    cwd: z.string(),
    pid: z.number().int().nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable().optional(),
    durationMs: z.number().nonnegative().nullable(),
    source: z.enum(['trace', 'harness']),
  }),
  egress: z.strictObject({
    host: z.string(),
    port: z.number().int().min(0).max(65_535),
    method: z.string(),
    allowed: z.boolean(),
    reason: z.string(),
  }),
  'model.call': z.strictObject({
    provider: z.string(),
    model: z.string(),
    inputTokens: count,
    outputTokens: count,
    costUsd: z.number().nonnegative().nullable(),
  }),
  'policy.denied': z.strictObject({ what: z.string(), reason: z.string() }),
  'secret.used': z.strictObject({ names: z.array(SecretName).min(1), step: z.string().optional() }),
  publish: z.strictObject({ branch: z.string(), headCommit: z.string(), repo: z.string() }),
  'run.spawned': z.strictObject({
    childRunId: z.string(),
    repo: z.string(),
    blueprint: z.string(),
    depth: z.number().int().positive(),
  }),
  'run.cancelled': z.strictObject({ by: z.string().nullable(), reason: z.string().optional() }),
  'budget.exceeded': z.strictObject({ spentUsd: z.number(), limitUsd: z.number() }),
} as const;

export type AuditKind = keyof typeof AUDIT_DATA;
export const AUDIT_KINDS = Object.keys(AUDIT_DATA) as AuditKind[];

/** Data of one kind of entry, e.g. `AuditData<'egress'>`. */
export type AuditData<K extends AuditKind = AuditKind> = z.infer<(typeof AUDIT_DATA)[K]>;

/** What a caller appends: the log adds `seq`, `at` and the hashes. */
export type NewAuditEntry = {
  [K in AuditKind]: { kind: K; runId?: string | null; actor?: string | null; data: AuditData<K> };
}[AuditKind];

/** One entry of the log as stored. */
export interface AuditEntry {
  seq: number;
  at: Date;
  kind: AuditKind;
  runId: string | null;
  actor: string | null;
  data: AuditData;
  prevHash: string;
  hash: string;
}

/** Checks an entry against its kind's schema; throws INVALID_INPUT naming every problem. */
export function checkAuditEntry(entry: NewAuditEntry): NewAuditEntry {
  const schema = AUDIT_DATA[entry.kind as AuditKind] as z.ZodType | undefined;
  if (!schema) {
    throw invalidInput(`unknown audit entry kind "${entry.kind}"`, `use one of ${AUDIT_KINDS.join(', ')}`);
  }
  const parsed = schema.safeParse(entry.data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `data.${issue.path.join('.')}: ${issue.message}`);
    throw invalidInput(`invalid ${entry.kind} audit entry: ${problems.join('; ')}`);
  }
  return { ...entry, data: parsed.data } as NewAuditEntry;
}
