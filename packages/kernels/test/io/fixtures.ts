// Reads the goldens written by tools/fixtures/make_preprocess_goldens.py (Pillow 9.4,
// torch 1.13, torchvision 0.14). Tests may use the file system; the io/ modules do not.
import { readFileSync } from 'node:fs';

const DIR = new URL('../fixtures/preprocess/', import.meta.url);

/** The file's bytes in a fresh ArrayBuffer of their own (offset 0, so any view is aligned). */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DIR)));
}

export interface ImageCase {
  file: string;
  width: number;
  height: number;
  rgb: string;
  mode: string;
}

export interface ResizeCase {
  source: string;
  filter: 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';
  width: number;
  height: number;
  file: string;
}

export interface PipelineCase {
  name: string;
  source: string;
  file: string;
  config: unknown;
}

export interface Manifest {
  images: ImageCase[];
  resize: ResizeCase[];
  timm: PipelineCase[];
  huggingface: PipelineCase[];
  npy: { file: string; shape: number[]; values: string }[];
  half: { values: string; f16: string; bf16: string; count: number };
}

export const manifest = JSON.parse(new TextDecoder().decode(fixtureBytes('manifest.json'))) as Manifest;

export function fixtureArray<T>(name: string, make: (buffer: ArrayBufferLike) => T): T {
  return make(fixtureBytes(name).buffer);
}
