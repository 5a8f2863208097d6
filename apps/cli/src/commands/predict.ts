import type { Command } from 'commander';
import { normalizeKeep, type ForwardRequest, type PatchMask } from '@moxi/kernels';
import { readInputFile } from '@moxi/kernels/node';
import { usageError } from '../cli-error.ts';
import { openGpuSession, prepareModelFromOptions } from '../model-session.ts';
import { parseChoice, parseIndexList, parseNonNegativeInt, parsePositiveInt } from '../option-parsers.ts';
import { writeJson, writeLines } from '../output.ts';
import { topClasses, type RankedClass } from '../top-classes.ts';
import type { CommandRunner } from '../run-command.ts';

interface PredictOptions {
  model?: string;
  arch?: string;
  input?: string;
  keep?: string;
  maskMode: string;
  maskFromLayer?: string;
  topk: string;
  json?: boolean;
}

const MASK_MODES = ['token', 'attention'] as const;

/** Builds the forward request from --keep / --mask-mode / --mask-from-layer. */
function maskRequest(o: PredictOptions, images: number, players: number, depth: number | undefined): ForwardRequest {
  const mode = parseChoice('--mask-mode', o.maskMode, MASK_MODES);
  if (o.keep === undefined) {
    if (o.maskFromLayer !== undefined) throw usageError('--mask-from-layer', 'needs --keep (which patches stay visible)');
    return {};
  }
  const keep = parseIndexList('--keep', o.keep);
  if (new Set(keep).size !== keep.length) throw usageError('--keep', 'lists a patch twice');
  normalizeKeep(keep, players, '--keep');
  const rows = Array.from({ length: images }, () => keep);
  let mask: PatchMask;
  if (mode === 'attention') {
    const fromLayer = o.maskFromLayer === undefined ? 0 : parseNonNegativeInt('--mask-from-layer', o.maskFromLayer);
    if (depth !== undefined && fromLayer >= depth) throw usageError('--mask-from-layer', `${fromLayer} is past the last block (the model has ${depth}: 0..${depth - 1})`);
    mask = { mode, keep: rows, fromLayer };
  } else {
    if (o.maskFromLayer !== undefined) throw usageError('--mask-from-layer', 'applies to --mask-mode attention only');
    mask = { mode, keep: rows };
  }
  return { mask };
}

export function registerPredict(program: Command, run: CommandRunner): void {
  program
    .command('predict')
    .description('classify an input, optionally showing the model only some patches')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file (e.g. vit_tiny_patch16_224)')
    .option('-i, --input <file>', 'PNG / JPEG image, or .npy float32 [3,H,W] / [B,3,H,W] already normalised')
    .option('--keep <patches>', 'patch indices to keep, row-major, e.g. 0,5,7 ("" keeps none); default all')
    .option('--mask-mode <mode>', 'how removed patches are hidden: token | attention', 'token')
    .option('--mask-from-layer <k>', 'attention mode: first block whose attention is masked (default 0)')
    .option('--topk <n>', 'classes to list per image', '5')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: PredictOptions) => {
      const topk = parsePositiveInt('--topk', o.topk);
      const prepared = prepareModelFromOptions(o);
      if (!o.input) throw usageError('--input', 'is required (an image or a .npy tensor)');
      const input = readInputFile(o.input, prepared.info.inputShape, prepared.preprocessing);
      const [gh, gw] = prepared.info.grid;
      const depth = typeof prepared.info.details.depth === 'number' ? prepared.info.details.depth : undefined;
      const request = maskRequest(o, input.shape[0]!, gh * gw, depth);
      const session = await openGpuSession(prepared);
      try {
        const result = await session.model.forward(input, request);
        const logits: number[][] = [];
        const top: RankedClass[][] = [];
        for (let r = 0; r < result.rows; r++) {
          const row = result.logits.subarray(r * result.classes, (r + 1) * result.classes);
          logits.push(Array.from(row));
          top.push(topClasses(row, topk, prepared.labels));
        }
        if (o.json) {
          writeJson({ model: prepared.info.architecture, input: o.input, mask: request.mask ?? null, logits, top });
        } else {
          writeLines(top.flatMap((classes, r) => [
            `image ${r}:`,
            ...classes.map((c) => `  ${String(c.index).padStart(5)}  ${(100 * c.probability).toFixed(2).padStart(6)}%  logit ${c.logit.toFixed(4)}${c.label ? `  ${c.label}` : ''}`),
          ]));
        }
      } finally {
        session.close();
      }
    }));
}
