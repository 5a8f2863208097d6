import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@moxi/kernels';
import { goldenInput, goldenLogits, materializeGoldenFolder, vitGoldenFolders, type GoldenCase, type GoldenFolder } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

// `moxi predict --json` against the PyTorch goldens, one image per run so each row's own
// keep-list can be passed as --keep. Issue bound: 2e-3 max abs logit error; we hold 1e-4.
const TOLERANCE = 1e-4;
const dir = mkdtempSync(join(tmpdir(), 'moxi-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliCase {
  label: string;
  folder: GoldenFolder;
  goldenCase: GoldenCase;
  row: number;
}

// Every folder's full case, and every masked case of the models the issue names.
const cases: CliCase[] = vitGoldenFolders().flatMap((folder) =>
  folder.cases
    .filter((c) => c.name === 'full' || ['vit-tiny', 'small-timm', 'small-hf'].includes(folder.name))
    .flatMap((c) => [0, 1].map((row) => ({ label: `${folder.name} ${c.name} image ${row}`, folder, goldenCase: c, row }))),
);

describe('moxi predict --json matches PyTorch', () => {
  it.each(cases)('$label', ({ folder, goldenCase: c, row }) => {
    const { model } = materializeGoldenFolder(folder, c, dir);
    const full = goldenInput(folder, c);
    const per = full.data.length / full.shape[0]!;
    const input = join(dir, `${folder.name}-${c.name}-${row}.npy`);
    writeFileSync(input, encodeNpy({ shape: [1, ...full.shape.slice(1)], data: full.data.slice(row * per, (row + 1) * per) }));
    const args = ['predict', '--model', model, '--input', input, '--json'];
    if (c.mask) {
      args.push('--keep', c.mask.keep[row]!.join(','), '--mask-mode', c.mask.mode);
      if (c.mask.mode === 'attention') args.push('--mask-from-layer', String(c.mask.fromLayer));
    }
    const run = runCli(args);
    expect(run.messages).toEqual([]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { logits: number[][]; top: Array<Array<{ index: number }>> };
    const expected = goldenLogits(folder, c);
    const classes = expected.shape[1]!;
    const want = expected.data.subarray(row * classes, (row + 1) * classes);
    expect(out.logits).toHaveLength(1);
    const got = out.logits[0]!;
    expect(got).toHaveLength(classes);
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(TOLERANCE);
    const argmax = want.indexOf(Math.max(...want));
    expect(out.top[0]![0]!.index).toBe(argmax);
  });
});
