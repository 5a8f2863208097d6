import { InputError, parseNpy, type DecodedImage, type HostTensor, type ModelFiles } from '@moxi/kernels';

async function fetchOk(url: string): Promise<Response | undefined> {
  const response = await fetch(url);
  return response.ok ? response : undefined;
}

/** A model folder served over HTTP: config.json, model.safetensors, optional preprocessor. */
export async function fetchModelFiles(folderUrl: string): Promise<ModelFiles> {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  const config = await fetchOk(`${base}config.json`);
  if (!config) throw new InputError(`${base}config.json`, 'could not be fetched (is the model folder URL right?)');
  const weights = await fetchOk(`${base}model.safetensors`);
  if (!weights) throw new InputError(`${base}model.safetensors`, 'could not be fetched');
  const files: ModelFiles = {
    location: base,
    config: { name: `${base}config.json`, text: await config.text() },
    weights: [{ name: `${base}model.safetensors`, bytes: new Uint8Array(await weights.arrayBuffer()) }],
  };
  const preprocessor = await fetchOk(`${base}preprocessor_config.json`);
  if (preprocessor) files.preprocessor = { name: `${base}preprocessor_config.json`, text: await preprocessor.text() };
  return files;
}

export async function fetchNpy(url: string): Promise<HostTensor> {
  const response = await fetchOk(url);
  if (!response) throw new InputError(url, 'could not be fetched');
  return parseNpy(new Uint8Array(await response.arrayBuffer()), url);
}

/**
 * The browser decodes the image; colour management is switched off so the RGB bytes are
 * the file's own, as PIL reads them. The result goes through the same Pillow-exact
 * preprocessing as in Node.
 */
export async function decodeImageInBrowser(blob: Blob): Promise<DecodedImage> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('2d canvas unavailable');
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { width: bitmap.width, height: bitmap.height, data: rgb };
}
