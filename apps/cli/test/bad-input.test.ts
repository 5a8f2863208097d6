import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@moxi/kernels';
import { VIT_FIXTURES } from '@moxi/kernels/testing';
import { runCli } from './run-cli.ts';

// Every bad input exits 2 within a minute, with one line on stderr naming the culprit,
// and nothing on stdout.
const dir = mkdtempSync(join(tmpdir(), 'moxi-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const goodModel = join(VIT_FIXTURES, 'small-timm');
const goodInput = join(VIT_FIXTURES, 'small-timm', 'input.npy');
const original = new Uint8Array(readFileSync(join(goodModel, 'model.safetensors')));

interface Header {
  [name: string]: { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>;
}

function splitSafetensors(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function joinSafetensors(header: Header | string, data: Uint8Array, declaredLength?: number): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

function edited(edit: (h: Record<string, Entry>) => void): Uint8Array {
  const { header, data } = splitSafetensors(original);
  edit(header as Record<string, Entry>);
  return joinSafetensors(header, data);
}

/** A copy of the good model folder whose weights file is `weights` (or config `config`). */
function modelWith(name: string, files: { weights?: Uint8Array; config?: string }): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  cpSync(join(goodModel, 'config.json'), join(folder, 'config.json'));
  writeFileSync(join(folder, 'model.safetensors'), files.weights ?? original);
  if (files.config !== undefined) writeFileSync(join(folder, 'config.json'), files.config);
  return folder;
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const tensorNames = Object.keys(splitSafetensors(original).header).filter((k) => k !== '__metadata__');
const byOffset = () => {
  const { header } = splitSafetensors(original);
  return tensorNames.map((n) => [n, header[n] as Entry] as const).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
};

const cases: Array<{ name: string; args: () => string[]; names: () => string }> = [
  {
    name: 'truncated safetensors',
    args: () => ['--model', modelWith('truncated', { weights: original.subarray(0, original.length >> 1) }), '--input', goodInput],
    names: () => join(dir, 'truncated', 'model.safetensors'),
  },
  {
    name: 'header length beyond the file',
    args: () => {
      const { header, data } = splitSafetensors(original);
      return ['--model', modelWith('long-header', { weights: joinSafetensors(header, data, original.length + 1000) }), '--input', goodInput];
    },
    names: () => join(dir, 'long-header', 'model.safetensors'),
  },
  {
    name: 'header not JSON',
    args: () => {
      const { data } = splitSafetensors(original);
      return ['--model', modelWith('not-json', { weights: joinSafetensors('{"a": [1, 2', data) }), '--input', goodInput];
    },
    names: () => join(dir, 'not-json', 'model.safetensors'),
  },
  {
    name: 'offsets past the end',
    args: () => {
      const [lastName] = byOffset()[byOffset().length - 1]!;
      const w = edited((h) => (h[lastName]!.data_offsets[1] += 4096));
      return ['--model', modelWith('past-end', { weights: w }), '--input', goodInput];
    },
    names: () => join(dir, 'past-end', 'model.safetensors'),
  },
  {
    name: 'overlapping offsets',
    args: () => {
      const [[, first], [secondName]] = byOffset() as unknown as [[string, Entry], [string, Entry]];
      const w = edited((h) => {
        const e = h[secondName]!;
        const length = e.data_offsets[1] - e.data_offsets[0];
        e.data_offsets = [first.data_offsets[0], first.data_offsets[0] + length];
      });
      return ['--model', modelWith('overlap', { weights: w }), '--input', goodInput];
    },
    names: () => join(dir, 'overlap', 'model.safetensors'),
  },
  {
    name: 'unknown dtype',
    args: () => ['--model', modelWith('dtype', { weights: edited((h) => (h['head.weight']!.dtype = 'F99')) }), '--input', goodInput],
    names: () => join(dir, 'dtype', 'model.safetensors'),
  },
  {
    name: 'missing weight',
    args: () => {
      // Drop the last tensor from header and data, so the file stays well-formed.
      const [lastName, last] = byOffset()[byOffset().length - 1]!;
      const { header, data } = splitSafetensors(original);
      delete header[lastName];
      return ['--model', modelWith('missing-weight', { weights: joinSafetensors(header, data.subarray(0, last.data_offsets[0])) }), '--input', goodInput];
    },
    names: () => byOffset()[byOffset().length - 1]![0],
  },
  {
    name: 'mis-shaped weight',
    args: () => ['--model', modelWith('mis-shaped', { weights: edited((h) => (h['head.weight']!.shape = [...h['head.weight']!.shape].reverse())) }), '--input', goodInput],
    names: () => 'head.weight',
  },
  {
    name: 'config.json not JSON',
    args: () => ['--model', modelWith('bad-config', { config: '{"architecture": vit' }), '--input', goodInput],
    names: () => join(dir, 'bad-config', 'config.json'),
  },
  {
    name: 'missing model folder',
    args: () => ['--model', join(dir, 'no-such-model'), '--input', goodInput],
    names: () => join(dir, 'no-such-model'),
  },
  {
    name: 'input of the wrong size',
    args: () => ['--model', goodModel, '--input', file('small.npy', encodeNpy({ shape: [1, 3, 16, 16], data: new Float32Array(768) }))],
    names: () => join(dir, 'small.npy'),
  },
  {
    name: 'input with the wrong channel count',
    args: () => ['--model', goodModel, '--input', file('gray.npy', encodeNpy({ shape: [1, 1, 32, 32], data: new Float32Array(1024) }))],
    names: () => join(dir, 'gray.npy'),
  },
  {
    name: 'a text file named .png',
    args: () => ['--model', join(VIT_FIXTURES, 'small-hf'), '--input', file('notes.png', 'these are my notes, not an image\n')],
    names: () => join(dir, 'notes.png'),
  },
  {
    name: 'an empty .npy',
    args: () => ['--model', goodModel, '--input', file('empty.npy', encodeNpy({ shape: [0], data: new Float32Array(0) }))],
    names: () => join(dir, 'empty.npy'),
  },
  {
    name: 'a missing input file',
    args: () => ['--model', goodModel, '--input', join(dir, 'nowhere.npy')],
    names: () => join(dir, 'nowhere.npy'),
  },
  {
    name: 'a patch index out of range',
    args: () => ['--model', goodModel, '--input', goodInput, '--keep', '1,99'],
    names: () => '99',
  },
  {
    name: 'a patch index that is not a number',
    args: () => ['--model', goodModel, '--input', goodInput, '--keep', '1,two'],
    names: () => 'two',
  },
];

describe('bad input exits 2 with one line naming it', () => {
  it.each(cases)('$name', ({ args, names }) => {
    const run = runCli(['predict', ...args(), '--json']);
    expect(run.code).toBe(2);
    expect(run.seconds).toBeLessThan(60);
    expect(run.stdout).toBe('');
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toContain(names());
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
