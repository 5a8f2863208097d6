import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The Node entry registers the path readers the loaders use for strings that are not URLs.
import { readInputFile, readModelFiles } from '../../src/node.ts';
import { readImageSource, type ImageTarget } from '../../src/io/image-source.ts';
import { InputError } from '../../src/io/input-error.ts';
import { readModelSource, type PickedFile } from '../../src/io/model-source.ts';
import { decodeImage } from '../../src/io/image-decode.ts';
import { preprocessImage, preprocessingFromHuggingFace } from '../../src/io/preprocess.ts';
import type { ModelFiles } from '../../src/models/load-model.ts';

// Every source of a model or an image yields what the path reader yields: the same bytes,
// the same tensor to the last bit (tolerance 0), the same refusals naming the input.
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const tinyVit = join(repo, 'examples', 'tiny-vit');
const demoPng = join(repo, 'examples', 'images', 'demo.png');
const preprocessing = preprocessingFromHuggingFace(JSON.parse(readFileSync(join(tinyVit, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>, 'preprocessor_config.json');
const target: ImageTarget = { location: tinyVit, inputShape: [3, 32, 32], preprocessing };

/** The files of a folder as a directory input gives them: "folder/name" paths. */
function picked(folder: string, only?: (name: string) => boolean): PickedFile[] {
  return readdirSync(folder)
    .filter((name) => !only || only(name))
    .map((name) => {
      const bytes = readFileSync(join(folder, name));
      return {
        name,
        webkitRelativePath: `tiny-vit/${name}`,
        text: async () => bytes.toString('utf8'),
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      };
    });
}

function sameContent(a: ModelFiles, b: ModelFiles): void {
  expect(a.config.text).toBe(b.config.text);
  expect(a.preprocessor?.text).toBe(b.preprocessor?.text);
  expect(a.weights).toHaveLength(1);
  expect(Buffer.from(a.weights[0]!.bytes).equals(Buffer.from(b.weights[0]!.bytes))).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

let server: Server;
let base: string;

beforeAll(async () => {
  // The repository over HTTP on loopback: what a browser or a Node program fetches.
  server = createServer((request, response) => {
    const path = join(repo, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
    try {
      const body = readFileSync(path);
      response.writeHead(200).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('readModelSource: a path, a URL, picked files and ModelFiles give the same model files', () => {
  const fromDisk = readModelFiles(tinyVit);

  it('a path (Node)', async () => {
    sameContent(await readModelSource(tinyVit), fromDisk);
  });

  it('a URL string and a URL object, with or without the trailing slash', async () => {
    sameContent(await readModelSource(`${base}examples/tiny-vit/`), fromDisk);
    sameContent(await readModelSource(new URL(`${base}examples/tiny-vit`)), fromDisk);
  });

  it('a file: URL reads the path', async () => {
    const files = await readModelSource(new URL(`file://${tinyVit}`));
    sameContent(files, fromDisk);
    expect(files.location).toBe(tinyVit);
  });

  it('the files of a picked folder (FileList-like), and { path, file } pairs', async () => {
    const files = await readModelSource(picked(tinyVit));
    sameContent(files, fromDisk);
    expect(files.location).toBe('tiny-vit');
    sameContent(await readModelSource(picked(tinyVit).map((file) => ({ path: file.webkitRelativePath!, file }))), fromDisk);
  });

  it('ModelFiles pass through untouched', async () => {
    expect(await readModelSource(fromDisk)).toBe(fromDisk);
  });

  it('refuses, naming the file: a URL without config.json, a picked folder without weights, a missing folder', async () => {
    expect((await rejection(readModelSource(`${base}examples/setsum/`))).message).toMatch(/examples\/setsum\/config\.json.*could not be fetched/);
    expect((await rejection(readModelSource(picked(tinyVit, (n) => n !== 'model.safetensors')))).message).toMatch(/^tiny-vit: has no model\.safetensors/);
    expect((await rejection(readModelSource(picked(tinyVit, (n) => n !== 'config.json')))).message).toMatch(/^tiny-vit: has no config\.json/);
    await expect(readModelSource(join(repo, 'no-such-model'))).rejects.toThrow(/no-such-model: no such file or folder/);
  });
});

describe('readImageSource: every kind of image source gives the path reader\'s tensor (tolerance 0)', () => {
  const expected = readInputFile(demoPng, [3, 32, 32], preprocessing);

  it('a path keeps the picture the model sees (resized and cropped RGB)', async () => {
    const image = await readImageSource(demoPng, target);
    expect(image.input.shape).toEqual([1, 3, 32, 32]);
    expect(image.input.data).toEqual(expected.data);
    expect([image.seen?.width, image.seen?.height, image.seen?.data.length]).toEqual([32, 32, 32 * 32 * 3]);
  });

  it('a URL, a Blob and decoded RGB pixels', async () => {
    expect((await readImageSource(`${base}examples/images/demo.png`, target)).input.data).toEqual(expected.data);
    expect((await readImageSource(new Blob([readFileSync(demoPng)]), target)).input.data).toEqual(expected.data);
    const rgb = decodeImage(new Uint8Array(readFileSync(demoPng)), 'demo.png');
    expect((await readImageSource(rgb, target)).input.data).toEqual(preprocessImage(rgb, preprocessing).data);
    expect((await readImageSource(rgb, target)).input.data).toEqual(expected.data);
  });

  it('a normalised tensor [3, H, W] or [1, 3, H, W] is taken as it is', async () => {
    const chw = { shape: [3, 32, 32], data: expected.data };
    const image = await readImageSource(chw, target);
    expect(image.input.shape).toEqual([1, 3, 32, 32]);
    expect(image.input.data).toBe(expected.data);
    expect(image.seen).toBeUndefined();
  });

  it('refuses, naming the input: a wrong tensor shape, short pixel data, a missing file, a 404, a non-image blob', async () => {
    expect((await rejection(readImageSource({ shape: [1, 3, 16, 16], data: new Float32Array(768) }, target))).message).toMatch(/the input tensor: is a tensor of shape \[1, 3, 16, 16\]; .* takes \[3, 32, 32\]/);
    expect((await rejection(readImageSource({ width: 4, height: 4, data: new Uint8Array(47) }, target))).message).toMatch(/holds 47 bytes; 4x4 RGB needs 48/);
    expect((await rejection(readImageSource(join(repo, 'missing.png'), target))).message).toMatch(/missing\.png: no such file/);
    expect((await rejection(readImageSource(`${base}missing.png`, target))).message).toMatch(/missing\.png: could not be fetched \(HTTP 404\)/);
    expect((await rejection(readImageSource(new Blob(['not an image']), target))).message).toMatch(/the image blob: not a PNG or JPEG image/);
  });

  it('an image for a model without preprocessing settings is refused, a tensor is not', async () => {
    const bare: ImageTarget = { location: 'bare.safetensors', inputShape: [3, 32, 32] };
    expect((await rejection(readImageSource(new Blob([readFileSync(demoPng)]), bare))).message).toMatch(/bare\.safetensors: has no preprocessing settings/);
    expect((await readImageSource({ shape: [1, 3, 32, 32], data: expected.data }, bare)).input.data).toBe(expected.data);
  });
});
