export {
  deterministicTensor,
  deterministicVitWeights,
  fnv1a32,
  lowbias32,
  vitTimmConfigJson,
} from './deterministic-weights.ts';
export type { DeterministicVitConfig, VitTimmConfigOptions } from './deterministic-weights.ts';
export {
  goldenInput,
  goldenLogits,
  goldenModelFiles,
  materializeGoldenFolder,
  vitGoldenFolders,
  VIT_FIXTURES,
} from './vit-fixtures.ts';
export type { GoldenCase, GoldenFolder } from './vit-fixtures.ts';
