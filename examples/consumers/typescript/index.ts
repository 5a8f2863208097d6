// Classifies and explains an image: MODEL_FOLDER IMAGE as arguments.
import { loadModel, type Explanation, type ImageClassification, type LoadedModel, type ModelInfo } from '@moxi/attrib';

const [modelPath, imagePath] = process.argv.slice(2);
if (!modelPath || !imagePath) throw new Error('usage: index.js MODEL_FOLDER IMAGE');

const model: LoadedModel = await loadModel(modelPath);
const info: ModelInfo = model.info;
console.log(`${info.architecture}: ${info.numClasses} classes, grid ${info.grid.join(' x ')}`);

const { top }: ImageClassification = await model.classify(imagePath, 3);
for (const { index, label, probability } of top) console.log(`class ${label ?? index}: ${probability.toFixed(3)}`);

const controller = new AbortController();
const explanation: Explanation = await model.explain(
  imagePath,
  { method: 'moxi-insertion', options: { stop: 'correct' } },
  { onProgress: (evaluations) => console.log(`${evaluations} coalitions`), signal: controller.signal },
);
const { order = [], stopStep } = explanation.attribution;
console.log(`predicted ${explanation.predicted}, MoXI order ${order.join(', ')}, stop step ${stopStep ?? 'n/a'}`);
model.destroy();
