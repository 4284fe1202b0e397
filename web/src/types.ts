/**
 * Shapes of the Nightshift API as the dashboard reads them, derived from the server's own types
 * (type-only imports: nothing of the server is bundled, except the two status lists of
 * `src/core/run.ts`, which has no imports). `Wire<T>` is `T` after `JSON.stringify`: dates
 * become ISO strings. A change on the server side that breaks a page fails `tsc -p web`.
 */

import type { AuditKind } from '../../src/audit/entries.ts';
import type { AuditPage as ServerAuditPage } from '../../src/audit/page.ts';
import type { AuditVerification as ServerAuditVerification } from '../../src/audit/verify.ts';
import type { AutomationView as ServerAutomationView } from '../../src/automations/service.ts';
import type { RunEvent as ServerRunEvent } from '../../src/core/events.ts';
import { RUN_CONCLUSIONS, RUN_STATUSES, type Run as ServerRun } from '../../src/core/run.ts';
import type { RunDetails as ServerRunDetails } from '../../src/engine/engine.ts';
import type { FleetStatus as ServerFleetStatus } from '../../src/fleets/service.ts';
import type {
  FleetQueries,
  FleetRepoState,
  FleetListed as ServerFleetListed,
  FleetRepoRow as ServerFleetRepoRow,
} from '../../src/fleets/store.ts';
import type { SwarmSummary as ServerSwarmSummary } from '../../src/fleets/swarm-store.ts';
import type { Insights as ServerInsights } from '../../src/server/insights.ts';
import type { AutomationFire as ServerAutomationFire } from '../../src/store/automations.ts';
import type { ListedRun as ServerListedRun } from '../../src/store/runs.ts';

/** `T` as JSON carries it: `Date` becomes an ISO string, recursively. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type { RunConclusion, RunStatus } from '../../src/core/run.ts';
export const STATUSES = RUN_STATUSES;
export const CONCLUSIONS = RUN_CONCLUSIONS;

export type Run = Wire<ServerRun>;
/** A run of `GET /api/runs`: with the run that started it (`parent`) and its `swarm` and role there. */
export type ListedRun = Wire<ServerListedRun>;
export type RunDetails = Wire<ServerRunDetails>;
export type StepUsage = RunDetails['usage'][number];
export type RunEvent = Wire<ServerRunEvent>;
/** A run's parent or one of its children (`GET /api/runs/:id`: `parent`, `children`). */
export type RunLink = RunDetails['children'][number];
/** The swarm a run is part of, its role there (`planner`, `facet`, `converge`) and every run of it. */
export type RunSwarm = NonNullable<RunDetails['swarm']>;
/** The latest execution of a swarm (`GET /api/swarms`): its state, driver, runs and change. */
export type SwarmSummary = Wire<ServerSwarmSummary>;

/** One audit entry as `GET /api/audit` and the export write it (stored fields and hashes). */
export type AuditEntry = ServerAuditPage['entries'][number];
export type AuditLogPage = ServerAuditPage;
export type AuditVerification = Wire<ServerAuditVerification>;
/** Every kind of audit entry, for the kind filter; checked against the server's list below. */
export const AUDIT_KINDS = [
  'sandbox.created',
  'sandbox.destroyed',
  'exec',
  'egress',
  'model.call',
  'policy.denied',
  'secret.used',
  'publish',
  'run.cancelled',
  'budget.exceeded',
  'run.spawned',
] as const satisfies readonly AuditKind[];
const everyKind: Exclude<AuditKind, (typeof AUDIT_KINDS)[number]> extends never ? true : never = true;
void everyKind;

export type Insights = Wire<ServerInsights>;
export type UsageGroup = Insights['byRepo'][number];

export type { FleetRepoState };
/** In the order a repo moves through them; checked against the server's list below. */
export const FLEET_REPO_STATES = [
  'pending',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'no_changes',
  'failed',
  'cancelled',
] as const satisfies readonly FleetRepoState[];
// Fails to compile when the server adds a state this list lacks.
const everyState: Exclude<FleetRepoState, (typeof FLEET_REPO_STATES)[number]> extends never ? true : never =
  true;
void everyState;
/** A fleet of `GET /api/fleets`: with its counts as last recorded. */
export type FleetListed = Wire<ServerFleetListed>;
export type FleetStatus = Wire<ServerFleetStatus>;
export type FleetRepoRow = Wire<ServerFleetRepoRow>;
/** Failed runs (`failures`) or changes not opened yet (`openFailures`), grouped by message. */
export type FailureGroup = FleetStatus['failures'][number];
/** Why a waiting change is not open yet: the last attempt's message, how many, when it is tried again. */
export type OpenFailure = NonNullable<NonNullable<FleetRepoRow['change']>['openFailure']>;
/** One point of `GET /api/fleets/NAME/series` (counts when a rollout step ran). */
export type FleetSeriesPoint = Wire<Awaited<ReturnType<FleetQueries['series']>>[number]>;

export type AutomationView = Wire<ServerAutomationView>;
export type AutomationFire = Wire<ServerAutomationFire>;
