import { prepareModel, type HostTensor, type ImageClassifier } from '@moxi/kernels';
import { goldenInput, goldenModelFiles, resnetGoldenFolders, vitGoldenFolders } from '@moxi/kernels/testing';
import { testEngine } from './gpu.ts';

/**
 * A golden fixture model on the test engine ("vit/small-timm", "resnet/resnet18-64px-10"...)
 * with rows `images` of its first case's input (default the first image), as the PyTorch
 * golden scripts in tools/fixtures read them.
 */
export async function loadGoldenModel(fixture: string, images: readonly number[] = [0]): Promise<{ model: ImageClassifier; image: HostTensor }> {
  const [family, name] = fixture.split('/');
  const folder = (family === 'vit' ? vitGoldenFolders() : resnetGoldenFolders()).find((f) => f.name === name);
  if (!folder) throw new Error(`no golden fixture ${fixture}`);
  const all = goldenInput(folder, folder.cases[0]!);
  const per = all.data.length / all.shape[0]!;
  const data = new Float32Array(images.length * per);
  images.forEach((r, i) => data.set(all.data.subarray(r * per, (r + 1) * per), i * per));
  return { model: prepareModel(goldenModelFiles(folder)).instantiate(await testEngine()), image: { shape: [images.length, ...all.shape.slice(1)], data } };
}
