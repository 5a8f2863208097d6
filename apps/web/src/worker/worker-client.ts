import type { ExplainPlan } from '@moxi/attrib';
import type { ExplainResult, ImageView, Masking, ModelSource, ModelView, PageErrorInfo, PageRequest, Prediction, WorkerMessage, WorkerReply } from './protocol.ts';

/** A failure the worker reported, kept in its kinds so the page can say what to fix. */
export class PageError extends Error {
  readonly kind: PageErrorInfo['kind'];
  readonly option: string | undefined;
  constructor(info: PageErrorInfo) {
    super(info.message);
    this.kind = info.kind;
    this.option = info.option;
  }
}

export interface ExplainProgress {
  onPlan?: (plan: ExplainPlan) => void;
  onProgress?: (done: number, flops: number) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  progress?: ExplainProgress;
}

/** The page's side of the engine worker: one promise per request, explain progress and cancel. */
export class EngineClient {
  private readonly worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.worker.onmessage = (event: MessageEvent<WorkerReply>) => this.receive(event.data);
    this.worker.onerror = (event) => {
      const error = new PageError({ kind: 'failure', message: `the engine worker failed: ${event.message}` });
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  openModel(source: ModelSource): Promise<ModelView> {
    return this.call({ type: 'open-model', source }) as Promise<ModelView>;
  }

  setImage(image: Blob, name: string): Promise<ImageView> {
    return this.call({ type: 'set-image', image, name }) as Promise<ImageView>;
  }

  predict(masking: Masking, hidden: number[]): Promise<Prediction> {
    return this.call({ type: 'predict', masking, hidden }) as Promise<Prediction>;
  }

  /** The explanation and a cancel function; cancelling rejects with kind 'cancelled'. */
  explain(spec: Extract<PageRequest, { type: 'explain' }>['spec'], progress: ExplainProgress): { result: Promise<ExplainResult>; cancel: () => void } {
    const id = this.nextId;
    const result = this.call({ type: 'explain', spec }, progress) as Promise<ExplainResult>;
    return { result, cancel: () => this.post({ type: 'cancel', id }) };
  }

  private call(request: PageRequest, progress?: ExplainProgress): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(progress ? { progress } : {}) });
      this.post({ type: 'call', id, request });
    });
  }

  private post(message: WorkerMessage): void {
    this.worker.postMessage(message);
  }

  private receive(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.type === 'plan') pending.progress?.onPlan?.(reply.plan);
    else if (reply.type === 'progress') pending.progress?.onProgress?.(reply.done, reply.flops);
    else {
      this.pending.delete(reply.id);
      if (reply.type === 'result') pending.resolve(reply.value);
      else pending.reject(new PageError(reply.error));
    }
  }
}
