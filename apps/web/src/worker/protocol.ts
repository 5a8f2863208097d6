import type { ExplainPlan, ExplainSpec, Explanation, MoxiStep } from '@moxi/attrib';
import type { MaskMode, ModelInfo } from '@moxi/kernels';

/** Where a model comes from: a folder served over HTTP (bundled or any URL), or files the user picked. */
export type ModelSource =
  | { kind: 'url'; url: string }
  | { kind: 'folder'; name: string; files: Array<{ path: string; file: File }> };

/** What the page and the worker say when work is asked of a model while none is open (the last load failed). */
export const NO_MODEL = 'No model is loaded: choose a bundled model, or open another model\'s folder or URL.';

/** How the player grid hides patches: the model's masking, its first masked block, G x G players. */
export interface Masking {
  maskMode: MaskMode;
  fromLayer: number;
  grid?: number;
}

export type PageRequest =
  | { type: 'open-model'; source: ModelSource }
  | { type: 'set-image'; image: Blob; name: string }
  | { type: 'predict'; masking: Masking; hidden: number[] }
  | { type: 'explain'; spec: ExplainSpec };

export interface ModelView {
  info: ModelInfo;
  /** ViT blocks (the attention mask's from-layer range); 0 for CNNs. */
  depth: number;
  seconds: number;
  /** The WebGPU adapter, in words. */
  adapter: string;
}

export interface ImageView {
  /** What the model sees, after resize and crop: RGB bytes, row-major. */
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface Prediction {
  logits: number[];
  milliseconds: number;
}

export interface ExplainResult {
  explanation: Explanation;
  /** MoXI: what the model makes of each step's coalition. */
  steps?: MoxiStep[];
  plan?: ExplainPlan;
  milliseconds: number;
}

export interface PageErrorInfo {
  /** input: a file or URL; option: a setting (named by `option`); refusal: the method's own limits; cancelled; no-webgpu; failure: anything else. */
  kind: 'input' | 'option' | 'refusal' | 'cancelled' | 'no-webgpu' | 'failure';
  message: string;
  option?: string;
}

export type WorkerMessage =
  | { type: 'call'; id: number; request: PageRequest }
  | { type: 'cancel'; id: number };

export type WorkerReply =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: PageErrorInfo }
  | { type: 'plan'; id: number; plan: ExplainPlan }
  | { type: 'progress'; id: number; done: number; flops: number };
