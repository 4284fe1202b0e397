import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { cliHarnesses } from '../../src/agents/catalog.ts';
import { startPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the suite's private PostgreSQL server (`postgres` database). */
    postgresUrl: string;
  }
}

/**
 * Starts one private PostgreSQL server for the whole suite (test files create their own
 * databases on it) and makes sure the agent CLIs are in the suite's tools cache
 * (`NIGHTSHIFT_TOOLS_DIR`, default `node_modules/.cache/nightshift-tools`): installed once, then
 * reused by every run, so the harness tests never install while a test waits. New embedded
 * databases start from the template in the suite's cache (`NIGHTSHIFT_CACHE_DIR`, default
 * `node_modules/.cache/nightshift`), not the user's.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.NIGHTSHIFT_TOOLS_DIR ||= resolve('node_modules/.cache/nightshift-tools');
  process.env.NIGHTSHIFT_CACHE_DIR ||= resolve('node_modules/.cache/nightshift');
  for (const harness of cliHarnesses({ toolsDir: process.env.NIGHTSHIFT_TOOLS_DIR })) {
    await harness.install((message) => console.log(`[global setup] ${harness.name}: ${message}`));
  }
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
