import { afterAll } from 'vitest';
import { releaseTestEngine } from '@moxi/kernels/testing';

export { maxAbsDiff, testEngine } from '@moxi/kernels/testing';

afterAll(releaseTestEngine);
