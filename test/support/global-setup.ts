import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the suite's private PostgreSQL server (`postgres` database). */
    postgresUrl: string;
  }
}

/** Starts one private PostgreSQL server for the whole suite; test files create their own databases on it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
