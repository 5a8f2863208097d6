import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

// The Kubernetes example as written: the Job runs the image the Dockerfile builds, both ask
// the NVIDIA runtime for the graphics capability (Vulkan), and the Job's arguments are ones
// `moxi evaluate` takes. There is no container engine here, so the image itself is not
// built; the archive it wraps is run by scripts/registry-check.sh.
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url)), 'utf8');
const job = read('kubernetes/evaluate-job.yaml');
const dockerfile = read('kubernetes/Dockerfile');

describe('the Kubernetes example', () => {
  it('runs the image the Dockerfile documents building', () => {
    const image = /^\s+image: (\S+)$/m.exec(job)?.[1];
    expect(image).toBeDefined();
    expect(dockerfile).toContain(`docker build -f examples/kubernetes/Dockerfile -t ${image} dist`);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["moxi"\]$/m);
  });

  it('asks for a GPU with the graphics capability, in the image and in the pod', () => {
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
    expect(job).toMatch(/- name: NVIDIA_DRIVER_CAPABILITIES\n\s+value: compute,utility,graphics/);
    expect(job).toMatch(/nvidia\.com\/gpu: 1/);
  });

  it("passes moxi evaluate arguments it takes (the only refusal is the missing model on this machine)", () => {
    const args = JSON.parse(/args: (\[[^\]]*\])/.exec(job)![1]!) as string[];
    expect(args[0]).toBe('evaluate');
    const completions = Number(/completions: (\d+)/.exec(job)![1]);
    expect(args[args.indexOf('--shards') + 1]).toBe(String(completions));
    // In the pod, the Indexed Job gives each shard its index.
    const run = runCli(args, { JOB_COMPLETION_INDEX: '0' });
    expect(run.code).toBe(2);
    expect(run.messages.join('\n')).toMatch(/^moxi: \/shared\/models\/setsum-vit-patch7: no such file or folder/);
  });
});

describe("the README's cluster commands reproduce its figure", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  // The figure's own command: `pnpm moxi evaluate --model M ... --images n --perturb list --methods list`.
  const figure = /pnpm moxi evaluate --model (\S+) --data \S+ --out \S+ \\\n\s+--images (\d+) --perturb (\S+) --methods (\S+)/.exec(readme);

  it('the Slurm submission uses the figure\'s model, images and perturbations, on shared storage', () => {
    expect(figure).not.toBeNull();
    const [, model, images, perturb, methods] = figure!;
    const slurm = /MOXI_MODEL=(\S+) MOXI_DATA=(\S+) MOXI_OUT=(\S+) \\\n\s+MOXI_IMAGES=(\d+) MOXI_ARGS="--perturb (\S+) --methods (\S+)" \\\n\s+sbatch /.exec(readme);
    expect(slurm).not.toBeNull();
    expect([slurm![1], slurm![4], slurm![5], slurm![6]]).toEqual([model, images, perturb, methods]);
    for (const path of [slurm![2]!, slurm![3]!]) expect(path).not.toMatch(/^\/tmp\//);
  });

  it('the Kubernetes Job (in the README and in examples/) uses them too', () => {
    const [, model, images, perturb, methods] = figure!;
    for (const text of [job, readme]) {
      const args = JSON.parse(/args: (\[[^\]]*\])/.exec(text)![1]!) as string[];
      const flag = (name: string) => args[args.indexOf(name) + 1];
      expect(flag('--model')!.endsWith(`/${model}`)).toBe(true);
      expect([flag('--images'), flag('--perturb'), flag('--methods')]).toEqual([images, perturb, methods]);
      for (const name of ['--data', '--out']) expect(flag(name)).not.toMatch(/^\/tmp\//);
    }
  });
});

