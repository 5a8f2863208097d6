import { defineConfig } from 'vitest/config';
import { wgslPlugin } from '@moxi/kernels/wgsl-loader';

// These tests run the built CLI (dist/moxi.js) as a user would; `turbo run test` builds it first.
export default defineConfig({
  plugins: [wgslPlugin()],
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
});
