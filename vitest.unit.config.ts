import { defineConfig } from 'vitest/config';

/** `npm run test:unit`: the pure modules only, no services. */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
