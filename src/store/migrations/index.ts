import { sql as initial } from './0001_initial.ts';
import { sql as audit } from './0002_audit.ts';
import { sql as fleets } from './0006_fleets.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Forward-only, in order. Never edit a released migration: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'audit', sql: audit },
  { version: 6, name: 'fleets', sql: fleets },
];
