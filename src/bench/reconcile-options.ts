import { EdgepayError } from '../errors.js';

export type LedgerKind = 'sqlite' | 'postgres';
export const DEFAULT_BACKLOG = 1_000_000;
export const DEFAULT_RECONCILE_BATCH = 2_000;
const BACKLOG_RANGE = { min: 1_000, max: 10_000_000 };
const BATCH_RANGE = { min: 1, max: 10_000 };

export function parseLedgerOption(value: string): LedgerKind {
  if (value === 'sqlite' || value === 'postgres') return value;
  throw new EdgepayError('EDGEPAY_BAD_INPUT', `--backend: ${JSON.stringify(value)} is not a ledger backend; use sqlite or postgres`, { option: '--backend', value, allowed: ['sqlite', 'postgres'] });
}

export function parseBacklogOption(value: string): number {
  return checkWhole('--entries', value, BACKLOG_RANGE, 'journal entries in the backlog');
}

export function parseReconcileBatchOption(value: string): number {
  return checkWhole('--batch', value, BATCH_RANGE, 'entries per forwarded batch');
}

export function checkWhole(option: string, raw: unknown, range: { min: number; max: number }, what: string): number {
  const value = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    const allowed = `a whole number of ${what} from ${range.min} to ${range.max}`;
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(raw)} is not allowed; use ${allowed}`, { option, value: raw, allowed });
  }
  return value;
}
