import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test files wait on real processes (git, sandboxes, servers), not on the CPU: two at
    // once roughly halve the suite on a 2-core CI machine (Vitest would otherwise use one).
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
