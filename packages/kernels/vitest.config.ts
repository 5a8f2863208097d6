import { defineConfig } from 'vitest/config';
import { wgslPlugin } from './wgsl-loader.mjs';

export default defineConfig({
  plugins: [wgslPlugin()],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One Dawn device per worker; lavapipe already spreads each dispatch over the cores.
    fileParallelism: false,
  },
});
