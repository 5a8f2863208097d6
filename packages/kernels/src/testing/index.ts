export {
  deterministicTensor,
  deterministicResnetWeights,
  deterministicVitWeights,
  fnv1a32,
  lowbias32,
  vitTimmConfigJson,
} from './deterministic-weights.ts';
export type { DeterministicResNetConfig, DeterministicVitConfig, VitTimmConfigOptions } from './deterministic-weights.ts';
export {
  goldenInput,
  goldenLogits,
  goldenModelFiles,
  goldenWeights,
  materializeGoldenFolder,
  RESNET_FIXTURES,
  resnetGoldenFolders,
  vitGoldenFolders,
  VIT_FIXTURES,
} from './golden-fixtures.ts';
export type { GoldenCase, GoldenFolder } from './golden-fixtures.ts';
export { releaseTestEngine, testEngine } from './test-engine.ts';
export { maxAbs, maxAbsDiff } from './compare.ts';
export { thrownBy } from './thrown.ts';
