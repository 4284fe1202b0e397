import { z } from 'zod';
import { RUN_CONCLUSIONS, RUN_STATUSES } from '../core/run.ts';
import { FLEET_REPO_STATES } from '../fleets/store.ts';

/** What a token may do; `admin` may do everything, including managing tokens. */
export const SCOPES = ['runs:read', 'runs:write', 'audit:read', 'metrics:read', 'admin'] as const;
export const Scope = z.enum(SCOPES);
export type Scope = z.infer<typeof Scope>;

/** Body of `POST /api/runs`. */
export const RunCreateBody = z.strictObject({
  repo: z.string().min(1).describe('a path (on the server) or URL of a git repository'),
  prompt: z.string().min(1).optional().describe('task for the agent (blueprint `default`)'),
  script: z.string().min(1).optional().describe('shell command instead of an agent (blueprint `script`)'),
  values: z.record(z.string(), z.string()).optional(),
  blueprint: z.string().min(1).optional().describe('a built-in blueprint or a YAML file on the server'),
  cwd: z.string().optional().describe('directory relative paths are resolved against, on the server'),
  baseRef: z.string().min(1).optional(),
  harness: z.string().min(1).optional().describe('harness for agent steps that name none'),
  model: z.string().min(1).optional().describe('`provider:model` for agent steps that name none'),
  timeoutMs: z.number().int().positive().optional(),
  priority: z.number().int().optional(),
  trigger: z.string().min(1).max(64).optional(),
  author: z.string().max(200).nullable().optional(),
});
export type RunCreateBody = z.infer<typeof RunCreateBody>;

/** Query of `GET /api/runs`: filters and a cursor (the `nextCursor` of the previous page). */
export const RunListQuery = z.strictObject({
  status: z.enum(RUN_STATUSES).optional(),
  conclusion: z.enum(RUN_CONCLUSIONS).optional(),
  repo: z.string().min(1).optional().describe('repository location as given when the run was created'),
  trigger: z.string().min(1).optional(),
  author: z.string().min(1).optional(),
  cursor: z
    .string()
    .regex(/^run_[0-9a-z]+$/, 'expected a run id (the nextCursor of a page)')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type RunListQuery = z.infer<typeof RunListQuery>;

/** Query of `GET /api/runs/:id/events`: a page after `after`; `wait=1` holds the request until there are some. */
export const EventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  wait: z.enum(['0', '1']).optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

/** Query of `GET /api/runs/:id/events/stream`; the `Last-Event-ID` header wins over `after`. */
export const StreamQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
});
export type StreamQuery = z.infer<typeof StreamQuery>;

export const CancelBody = z.strictObject({
  by: z.string().max(200).nullable().optional(),
});
export type CancelBody = z.infer<typeof CancelBody>;

/** Body of `POST /api/runs/:id/say`. */
export const SayBody = z.strictObject({
  message: z.string().min(1).max(100_000).describe('what the agent should do next'),
  author: z.string().max(200).nullable().optional(),
});
export type SayBody = z.infer<typeof SayBody>;

/** Query of `GET /api/insights`: how many days back, today included. */
export const InsightsQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30),
});
export type InsightsQuery = z.infer<typeof InsightsQuery>;

export const AuditExportQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  run: z.string().min(1).optional(),
});
export type AuditExportQuery = z.infer<typeof AuditExportQuery>;

export const TokenCreateBody = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, dots, dashes (at most 64)'),
  scopes: z.array(Scope).min(1),
  createdBy: z.string().max(200).nullable().optional(),
});
export type TokenCreateBody = z.infer<typeof TokenCreateBody>;

/** Query of `GET /api/fleets/:name/repos`: a page after position `after`, optionally of one state. */
export const FleetReposQuery = z.strictObject({
  state: z.enum(FLEET_REPO_STATES).optional(),
  after: z.coerce.number().int().min(0).default(0).describe('the nextAfter of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type FleetReposQuery = z.infer<typeof FleetReposQuery>;

/** Every error answer. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().nullable(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Query of `GET /api/audit`: one page of the log, newest first, searched in the database. */
export const AuditListQuery = z.strictObject({
  run: z.string().min(1).optional().describe('a run id (or its suffix)'),
  kind: z.string().min(1).max(64).optional().describe('an entry kind, such as `egress`'),
  decision: z.enum(['allowed', 'denied']).optional(),
  text: z.string().min(1).max(200).optional().describe('text anywhere in the entry, case-insensitive'),
  before: z.coerce.number().int().min(1).optional().describe('the `nextBefore` of the previous page'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditListQuery = z.infer<typeof AuditListQuery>;
