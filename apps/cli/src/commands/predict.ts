import type { Command } from 'commander';
import { checkPixelGrid, DEFAULT_PRECISION, normalizeKeep, type ForwardRequest, type ModelInfo, type PatchMask } from '@moxi/kernels';
import { readInputFile } from '@moxi/kernels/node';
import { usageError } from '../cli-error.ts';
import { openGpuSession, parsePrecision, PRECISION_HELP, prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { addExplainFlags, givenExplainOptions } from '../explain-flags.ts';
import { parseIndexList, parsePositiveInt } from '../option-parsers.ts';
import { writeJson, writeLines } from '../output.ts';
import { numberDefault, readMasking, topClasses, type ExplainOptionName, type RankedClass } from '@moxi/attrib';
import type { CommandRunner } from '../run-command.ts';

interface PredictOptions {
  model?: string;
  precision?: string;
  arch?: string;
  preprocess?: string;
  input?: string;
  keep?: string;
  maskMode?: string;
  maskFromLayer?: string;
  grid?: string;
  topk: string;
  json?: boolean;
}

/** Builds the forward request from --keep / --mask-mode / --mask-from-layer / --grid. */
function maskRequest(o: PredictOptions, images: number, info: ModelInfo): ForwardRequest {
  // Mask mode and first masked block: attrib's table and masking rules, as explain reads them.
  const { maskMode: mode, fromLayer } = readMasking(givenExplainOptions(o, MASK_OPTIONS), { family: info.family, depth: Number(info.details.depth) });
  if (o.grid !== undefined && mode !== 'pixel') throw usageError('--grid', 'applies to --mask-mode pixel only');
  if (o.keep === undefined) {
    for (const [flag, value] of [['--mask-from-layer', o.maskFromLayer], ['--grid', o.grid]] as const) {
      if (value !== undefined) throw usageError(flag, 'needs --keep (which patches stay visible)');
    }
    return {};
  }
  let grid = info.grid;
  if (o.grid !== undefined) {
    const g = parsePositiveInt('--grid', o.grid);
    grid = [g, g];
    checkPixelGrid(grid, [info.inputShape[1], info.inputShape[2]]);
  }
  const keep = parseIndexList('--keep', o.keep);
  if (new Set(keep).size !== keep.length) throw usageError('--keep', 'lists a patch twice');
  normalizeKeep(keep, grid[0] * grid[1], '--keep');
  const rows = Array.from({ length: images }, () => keep);
  let mask: PatchMask;
  if (mode === 'attention') {
    mask = { mode, keep: rows, fromLayer: fromLayer ?? numberDefault('fromLayer') };
  } else if (mode === 'pixel') {
    mask = { mode, keep: rows, grid };
  } else {
    mask = { mode, keep: rows };
  }
  return { mask };
}

/** The masking options predict shares with explain (attrib's table). */
const MASK_OPTIONS: ExplainOptionName[] = ['maskMode', 'fromLayer'];

export function registerPredict(program: Command, run: CommandRunner): void {
  const command = program
    .command('predict')
    .description('classify an input, optionally showing the model only some patches')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file (e.g. vit_tiny_patch16_224)')
    .option('--preprocess <spec>', PREPROCESS_HELP)
    .option('-i, --input <file>', 'PNG / JPEG image, or .npy float32 [3,H,W] / [B,3,H,W] already normalised')
    .option('--keep <patches>', 'patch indices to keep, row-major, e.g. 0,5,7 ("" keeps none); default all');
  addExplainFlags(command, MASK_OPTIONS, 'explain', false)
    .option('--grid <G>', 'pixel mode: G x G cells, G divides the input size (default: the token grid of a ViT, 14 or the nearest divisor for a CNN)')
    .option('--topk <n>', 'classes to list per image', '5')
    .option('--precision <p>', PRECISION_HELP, DEFAULT_PRECISION)
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: PredictOptions) => {
      const topk = parsePositiveInt('--topk', o.topk);
      const prepared = prepareModelFromOptions(o);
      const precision = parsePrecision(o.precision ?? DEFAULT_PRECISION, prepared);
      if (!o.input) throw usageError('--input', 'is required (an image or a .npy tensor)');
      const input = readInputFile(o.input, prepared.info.inputShape, prepared.preprocessing);
      const request = maskRequest(o, input.shape[0]!, prepared.info);
      const session = await openGpuSession(prepared, { precision });
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
