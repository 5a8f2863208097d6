import { afterAll } from 'vitest';
import { releaseTestEngine } from '../../src/testing/test-engine.ts';

export { testEngine } from '../../src/testing/test-engine.ts';
export { maxAbs, maxAbsDiff } from '../../src/testing/compare.ts';

afterAll(releaseTestEngine);
