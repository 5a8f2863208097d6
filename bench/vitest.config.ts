import { defineConfig } from 'vitest/config';
import { wgslPlugin } from '@moxi/kernels/wgsl-loader';

export default defineConfig({
  plugins: [wgslPlugin()],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
