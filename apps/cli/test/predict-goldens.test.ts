import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goldenLogits, materializeGoldenFolder, resnetGoldenFolders, vitGoldenFolders, type GoldenCase, type GoldenFolder } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

// `moxi predict --json` against the PyTorch goldens. Masked cases run one image per call
// so each row's own keep-list can be passed as --keep; unmasked cases run the whole batch.
// Issue bound: 2e-3 max abs logit error; we hold 1e-4 (ViT) and 2e-4 (ResNet, logits ~8).
const dir = mkdtempSync(join(tmpdir(), 'moxi-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliCase {
  label: string;
  folder: GoldenFolder;
  goldenCase: GoldenCase;
  row?: number;
}

function cliCases(folders: GoldenFolder[], masked: (folder: GoldenFolder) => boolean): CliCase[] {
  return folders.flatMap((folder) =>
    folder.cases
      .filter((c) => c.mask === null || masked(folder))
      .flatMap((c) =>
        c.mask === null
          ? [{ label: `${folder.name} ${c.name}`, folder, goldenCase: c }]
          : [0, 1].map((row) => ({ label: `${folder.name} ${c.name} image ${row}`, folder, goldenCase: c, row })),
      ),
  );
}

// Every folder's full case, and every masked case of the models the issues name.
const cases = [
  ...cliCases(vitGoldenFolders(), (f) => ['vit-tiny', 'small-timm', 'small-hf'].includes(f.name)),
  ...cliCases(resnetGoldenFolders(), () => true),
];

describe('moxi predict --json matches PyTorch', () => {
  it.each(cases)('$label', ({ folder, goldenCase: c, row }) => {
    const { model, input } = materializeGoldenFolder(folder, c, dir, row);
    const args = ['predict', '--model', model, '--input', input, '--json'];
    if (c.mask && row !== undefined) {
      args.push('--keep', c.mask.keep[row]!.join(','), '--mask-mode', c.mask.mode);
      if (c.mask.mode === 'attention') args.push('--mask-from-layer', String(c.mask.fromLayer));
      if (c.mask.mode === 'pixel') args.push('--grid', String(c.mask.grid[0]));
    }
    const run = runCli(args);
    expect(run.messages).toEqual([]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { logits: number[][]; top: Array<Array<{ index: number }>> };
    const expected = goldenLogits(folder, c);
    const classes = expected.shape[1]!;
    const rows = row === undefined ? Array.from({ length: expected.shape[0]! }, (_, r) => r) : [row];
    expect(out.logits).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const want = expected.data.subarray(r * classes, (r + 1) * classes);
      const got = out.logits[i]!;
      expect(got).toHaveLength(classes);
      expect(Math.max(...got.map((v, j) => Math.abs(v - want[j]!)))).toBeLessThan(folder.family === 'vit' ? 1e-4 : 2e-4);
      expect(out.top[i]![0]!.index).toBe(want.indexOf(Math.max(...want)));
    });
  });
});
