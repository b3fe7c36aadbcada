import { Piscina } from 'piscina';
import { EdgepayError } from '../errors.js';
import { compiledModuleUrl } from '../platform/modules.js';
import type { CardFacts } from './card-facts.js';
import type { RawCard } from './capture.js';
import type { CaptureResult, CaptureWorkerData } from './capture-worker.js';
import type { CardKeys } from './keys.js';

export interface CapturePoolOptions {
  readonly keys: CardKeys;
  /** Worker threads; CPU work, so at most the cores the box has. */
  readonly threads: number;
  /** Tasks waiting for a thread; one more is refused at once with EDGEPAY_OVERLOADED. */
  readonly maxQueue: number;
}

/**
 * Card capture (HMAC token + sealed box) on a piscina pool, off the threads that decide and write.
 * A capture is pure, so a task lost to a crashed pool thread is simply run once more; piscina
 * replaces the thread by itself, so a crash costs one retry, never the node.
 */
/** The pool's worker entry point (an entry of the bundle: app/entry-points.ts). */
export const CAPTURE_WORKER_MODULE = 'card/capture-worker';

export class CardCapturePool {
  private readonly pool: Piscina;
  private readonly maxQueue: number;
  private retriedAfterCrash = 0;

  constructor(options: CapturePoolOptions) {
    const workerData: CaptureWorkerData = {
      tokenKeyBase64: options.keys.tokenKey.toString('base64'),
      centrePublicKeyBase64: Buffer.from(options.keys.centrePublicKey).toString('base64'),
    };
    this.maxQueue = options.maxQueue;
    this.pool = new Piscina({
      filename: compiledModuleUrl(CAPTURE_WORKER_MODULE).href,
      workerData,
      minThreads: 1,
      maxThreads: Math.max(1, options.threads),
      maxQueue: options.maxQueue,
    });
  }

  /** Tasks run again because their pool thread died under them (a metric for operators). */
  get crashRetries(): number {
    return this.retriedAfterCrash;
  }

  get queued(): number {
    return this.pool.queueSize;
  }

  async capture(raw: RawCard): Promise<CardFacts> {
    try {
      return await this.runOnce(raw);
    } catch (error) {
      if (error instanceof EdgepayError) throw error;
      // The thread died under the task (not a bad card: those are typed errors); one retry on a fresh thread.
      this.retriedAfterCrash++;
      return this.runOnce(raw);
    }
  }

  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }

  private async runOnce(raw: RawCard): Promise<CardFacts> {
    let result: CaptureResult;
    try {
      result = (await this.pool.run(raw)) as CaptureResult;
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      if (/queue is at limit/i.test(message)) {
        throw new EdgepayError('EDGEPAY_OVERLOADED', `card capture queue is full (${this.maxQueue} waiting); try again shortly`, {
          maxQueue: this.maxQueue,
        });
      }
      throw error;
    }
    if (!result.ok) throw new EdgepayError(result.code, result.message, result.details);
    return result.facts;
  }
}
