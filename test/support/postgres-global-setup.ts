// vitest globalSetup: one PostgreSQL server per test run, for every test file that runs the
// journal contract against PostgreSQL too (see test/support/postgres.ts).
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    postgresBin: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  project.provide('postgresBin', server.binDir);
  return () => server.stop();
}
