import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Attribution } from '@moxi/attrib';
import { log } from '../output.ts';
import { readSplit } from '../setsum-files.ts';
import type { ExplainOptions } from './explain.ts';

/** With neither --model nor --input: the bundled SET-SUM ViT on a bundled test image. */
export function withDemoDefaults(o: ExplainOptions): ExplainOptions & { demo?: DemoImage } {
  if (o.model !== undefined || o.input !== undefined || o.arch !== undefined) return o;
  // build.mjs copies the demo next to the bundle (dist/demo), where an installed CLI has it too.
  const root = fileURLToPath(new URL('./demo/', import.meta.url));
  const demo = demoImage(join(root, 'examples', 'setsum'));
  const model = join(root, 'models', 'setsum-vit');
  log(`no --model / --input: explaining the bundled SET-SUM test image ${demo.path} with ${model}`);
  return {
    ...o,
    model,
    input: [demo.path],
    out: o.out ?? 'moxi-explanation.png',
    demo,
  };
}

export interface DemoImage {
  path: string;
  label: number;
  digits: number[];
}

function demoImage(folder: string): DemoImage {
  const [entry] = readSplit(folder);
  if (!entry) throw new Error(`${folder}/labels.csv lists no image`);
  return { path: join(folder, entry.file), label: entry.label, digits: entry.digits };
}

export function demoIntroduction(d: DemoImage): string[] {
  const [a, b, c, e] = d.digits;
  const distinct = [...new Set(d.digits)].filter((x) => x !== 0);
  return [
    `Visual SET-SUM: the image shows the digits ${a} ${b} / ${c} ${e} (cells 0 1 / 2 3); its label is the sum of the distinct digits, ${distinct.join(' + ')} = ${d.label}.`,
    `One copy of each distinct digit suffices (${distinct.length} cells); MoXI, guided by interactions, should not spend a step on a duplicate.`,
  ];
}

export function demoConclusion(d: DemoImage, a: Attribution, predicted: number): string[] {
  if (!a.order) return [];
  const chosen = a.order.slice(0, a.stopStep ?? a.order.length);
  const digits = chosen.map((cell) => d.digits[cell]!);
  const duplicates = digits.length - new Set(digits).size;
  return [
    `The model answers ${predicted}${predicted === d.label ? ' (correct)' : ` (the label is ${d.label})`}. MoXI chose cells ${chosen.join(', ')}, holding digits ${digits.join(', ')}: ${duplicates === 0 ? 'no duplicate' : `${duplicates} duplicate${duplicates > 1 ? 's' : ''}`}.`,
  ];
}
