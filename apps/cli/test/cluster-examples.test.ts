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
    expect(run.messages.join('\n')).toMatch(/^moxi: \/shared\/models\/setsum-vit-patch8: no such file or folder/);
  });
});
