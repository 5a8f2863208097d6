import { Command, CommanderError } from 'commander';
import { InputError } from '@moxi/kernels';
// WebGPU in Node is Dawn (npm webgpu); this entry registers it for acquireDevice().
import '@moxi/kernels/node';
import manifest from '../package.json' with { type: 'json' };
import { EXIT_BAD_INPUT, reportError } from './cli-error.ts';
import { registerBench } from './commands/bench.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerEvaluate } from './commands/evaluate.ts';
import { registerExplain } from './commands/explain.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerPredict } from './commands/predict.ts';
import { registerSetSum } from './commands/setsum.ts';
import { refuseRepeatedOptions } from './repeated-options.ts';
import { commandRunner } from './run-command.ts';

const program = new Command();
program
  .name('moxi')
  .description('Explain image classifiers on WebGPU: which group of patches drives the prediction (MoXI)')
  .version(manifest.version, '-V, --version', 'print the version of moxi')
  .option('--debug', 'print stack traces on errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const run = commandRunner(() => program.opts<{ debug?: boolean }>().debug === true);
registerPredict(program, run);
registerExplain(program, run);
registerEvaluate(program, run);
registerInspect(program, run);
registerBench(program, run);
registerDoctor(program, run);
registerSetSum(program, run);
refuseRepeatedOptions(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message (unknown option, missing argument, --help).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
  // Thrown while parsing, before any action ran (a single-value option given twice).
  if (error instanceof InputError) process.exit(reportError(error, program.opts<{ debug?: boolean }>().debug === true));
  throw error;
}
