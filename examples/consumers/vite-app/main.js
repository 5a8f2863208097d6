// The model folder (config.json, model.safetensors) and the image are served from public/.
import { loadModel } from '@moxi/attrib';

const result = document.querySelector('#result');
try {
  const model = await loadModel('./setsum-vit/');
  const { attribution, predicted, probability } = await model.explain('./000008.png', { method: 'moxi-insertion', options: { stop: 'correct' } });
  result.textContent = JSON.stringify({ predicted, probability, order: attribution.order, stopStep: attribution.stopStep });
  model.destroy();
} catch (error) {
  result.textContent = JSON.stringify({ error: String(error) });
}
