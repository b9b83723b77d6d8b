import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real PostgreSQL server per run: the journal contract is tested on both engines (CORE-012).
    globalSetup: ['test/support/postgres-global-setup.ts'],
    // A signal meant for a test's own process never reaches the test run's group (kill-guard.ts).
    setupFiles: ['test/support/kill-guard.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end tests spawn real processes, so keep the pool small and predictable.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit.xml' },
  },
});
