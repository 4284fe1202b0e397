import { sql as initial } from './0001_initial.ts';
import { sql as audit } from './0002_audit.ts';
import { sql as steering } from './0003_steering.ts';
import { sql as apiTokens } from './0004_api_tokens.ts';
import { sql as webhookDeliveries } from './0005_webhook_deliveries.ts';
import { sql as fleets } from './0006_fleets.ts';
import { sql as automations } from './0007_automations.ts';
import { sql as fireLeases } from './0010_fire_leases.ts';
import { sql as changeChecks } from './0011_change_checks.ts';
import { sql as changeOpenAttempts } from './0012_change_open_attempts.ts';
import { sql as swarmRuns } from './0013_swarm_runs.ts';
import { sql as changeLookups } from './0014_change_lookups.ts';
import { sql as swarmDrivers } from './0015_swarm_drivers.ts';
import { sql as answerAttempts } from './0016_answer_attempts.ts';
import { sql as swarmResume } from './0017_swarm_resume.ts';
import { sql as runAnswers } from './0018_run_answers.ts';
import { sql as swarmDriveFailures } from './0019_swarm_drive_failures.ts';
import { sql as fleetStopCount } from './0020_fleet_stop_count.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Forward-only, in order. Never edit a released migration: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'audit', sql: audit },
  { version: 3, name: 'steering', sql: steering },
  { version: 4, name: 'api_tokens', sql: apiTokens },
  { version: 5, name: 'webhook_deliveries', sql: webhookDeliveries },
  { version: 6, name: 'fleets', sql: fleets },
  { version: 7, name: 'automations', sql: automations },
  { version: 10, name: 'fire_leases', sql: fireLeases },
  { version: 11, name: 'change_checks', sql: changeChecks },
  { version: 12, name: 'change_open_attempts', sql: changeOpenAttempts },
  { version: 13, name: 'swarm_runs', sql: swarmRuns },
  { version: 14, name: 'change_lookups', sql: changeLookups },
  { version: 15, name: 'swarm_drivers', sql: swarmDrivers },
  { version: 16, name: 'answer_attempts', sql: answerAttempts },
  { version: 17, name: 'swarm_resume', sql: swarmResume },
  { version: 18, name: 'run_answers', sql: runAnswers },
  { version: 19, name: 'swarm_drive_failures', sql: swarmDriveFailures },
  { version: 20, name: 'fleet_stop_count', sql: fleetStopCount },
];
