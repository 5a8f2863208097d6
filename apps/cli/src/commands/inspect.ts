import type { Command } from 'commander';
import { prepareModelFromOptions, PREPROCESS_HELP } from '../model-session.ts';
import { writeJson, writeLines } from '../output.ts';
import type { CommandRunner } from '../run-command.ts';

interface InspectOptions {
  model?: string;
  arch?: string;
  preprocess?: string;
  json?: boolean;
}

export function registerInspect(program: Command, run: CommandRunner): void {
  program
    .command('inspect')
    .description('show a model: architecture, parameters, preprocessing, weight dtypes, size')
    .option('-m, --model <path>', 'model folder (timm or Hugging Face) or .safetensors file')
    .option('--arch <name>', 'timm architecture of a bare .safetensors file')
    .option('--preprocess <spec>', PREPROCESS_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action(run(async (o: InspectOptions) => {
      const { info } = prepareModelFromOptions(o);
      const { labels, ...rest } = info;
      const summary = { ...rest, labels: labels ? { count: labels.length, first: labels.slice(0, 5) } : null };
      if (o.json) {
        writeJson(summary);
        return;
      }
      const p = info.preprocessing;
      writeLines([
        `model         ${info.location}`,
        `format        ${info.format}`,
        `architecture  ${info.architecture} (${info.family})`,
        `parameters    ${info.parameters.toLocaleString('en-US')}`,
        `weights       ${info.weightDtypes.join(', ')}, ${(info.weightBytes / 2 ** 20).toFixed(1)} MiB`,
        `input         [${info.inputShape.join(', ')}], patch grid ${info.grid.join('x')}`,
        `classes       ${info.numClasses}${labels ? ` (labelled: ${labels.slice(0, 3).join(', ')}, ...)` : ''}`,
        p
          ? `preprocessing resize ${p.resize ? JSON.stringify(p.resize) : 'none'} ${p.interpolation}, crop ${p.centerCrop ? `${p.centerCrop.height}x${p.centerCrop.width}` : 'none'}, mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`
          : 'preprocessing none in the folder (images need preprocessor_config.json; .npy inputs work)',
        ...Object.entries(info.details).map(([k, v]) => `${k.padEnd(13)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`),
      ]);
    }));
}
