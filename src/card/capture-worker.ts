import { workerData } from 'node:worker_threads';
import { EdgepayError, type ErrorCode } from '../errors.js';
import type { CardFacts } from './card-facts.js';
import { type RawCard, captureCard } from './capture.js';
import type { CardKeys } from './keys.js';
import { CAPTURE_THREAD_NAME, nameThisThread } from '../platform/thread-name.js';

nameThisThread(CAPTURE_THREAD_NAME);

/** Keys travel as base64 in workerData: structured clone of Buffers into a pool is not allowed. */
export interface CaptureWorkerData {
  readonly tokenKeyBase64: string;
  readonly centrePublicKeyBase64: string;
}

const data = workerData as CaptureWorkerData;
const keys: CardKeys = {
  tokenKey: Buffer.from(data.tokenKeyBase64, 'base64'),
  centrePublicKey: new Uint8Array(Buffer.from(data.centrePublicKeyBase64, 'base64')),
};

/** Typed errors cross the thread boundary as data: structured clone keeps an Error's message, not its code. */
export type CaptureResult = { readonly ok: true; readonly facts: CardFacts } | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly details: Readonly<Record<string, unknown>> };

/** One piscina task: tokenize and seal one card. Pure CPU, no state between tasks. */
export default async function capture(raw: RawCard): Promise<CaptureResult> {
  try {
    return { ok: true, facts: await captureCard(raw, keys) };
  } catch (error) {
    if (error instanceof EdgepayError) return { ok: false, code: error.code, message: error.message, details: error.details };
    throw error;
  }
}
