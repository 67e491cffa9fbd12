import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind loopback ports and spawn processes; two cores do not
    // reward more parallelism than this.
    maxWorkers: 2,
  },
});
