import { defineConfig } from 'vitest/config';

/** `npm run test:worker`: the Workers build in workerd (Miniflare), after `npm run build`. */
export default defineConfig({
  test: {
    include: ['tests/worker/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
