// Explains an image with a model folder: node explain.mjs MODEL_FOLDER IMAGE
import { loadModel } from '@moxi/attrib';

const [modelPath, imagePath] = process.argv.slice(2);
if (!modelPath || !imagePath) throw new Error('usage: node explain.mjs MODEL_FOLDER IMAGE');

const model = await loadModel(modelPath);
const { attribution, predicted, probability } = await model.explain(imagePath, { method: 'moxi-insertion', options: { stop: 'correct' } });
console.log(`predicted ${predicted} (p ${probability.toFixed(3)})`);
console.log(`MoXI order ${JSON.stringify(attribution.order)}, prediction restored at step ${attribution.stopStep}`);
model.destroy();
