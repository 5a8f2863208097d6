/**
 * Runs `start` on each job and hands the results to `finish` in order, with up to `depth`
 * jobs started before the oldest is finished. A model's forward pass records and submits
 * its GPU work before its first await, so starting job k + 1 before awaiting job k keeps
 * the GPU busy while the host builds the next batch and reads the last one back.
 */
export async function inFlight<J, R>(jobs: readonly J[], start: (job: J) => Promise<R>, finish: (result: R, job: J) => void, depth = 2): Promise<void> {
  const running: Array<Promise<R>> = [];
  let next = 0;
  try {
    for (let done = 0; done < jobs.length; done++) {
      while (next < jobs.length && running.length < depth) {
        const pass = start(jobs[next++]!);
        // Awaited below; this only keeps a failure that happens while an earlier job is awaited from counting as unhandled.
        pass.catch(() => undefined);
        running.push(pass);
      }
      finish(await running.shift()!, jobs[done]!);
    }
  } finally {
    // A failure leaves later passes running: wait for them so no work outlives the call.
    await Promise.allSettled(running);
  }
}
