import { formatMinor, isCurrencyCode } from '../money/index.js';

/**
 * Reasons must stay printable even for a currency the node does not know (that is often why the
 * request is being declined), so unknown codes fall back to raw minor units instead of throwing.
 */
export function formatAmount(amountMinor: number, currency: string): string {
  return isCurrencyCode(currency) ? formatMinor(amountMinor, currency) : `${amountMinor} minor units of ${JSON.stringify(currency)}`;
}

/**
 * "48h 0m 0.001s": deadlines are configured in hours but breached by milliseconds, and a reason
 * saying "48h 0m 0s old, past the 48h deadline" would read as a bug.
 */
export function formatDurationMs(durationMs: number): string {
  const totalMs = Math.abs(Math.trunc(durationMs));
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const seconds = Math.floor((totalMs % 60_000) / 1000);
  const ms = totalMs % 1000;
  const secondsText = ms === 0 ? `${seconds}` : `${seconds}.${String(ms).padStart(3, '0')}`;
  return `${durationMs < 0 ? '-' : ''}${hours}h ${minutes}m ${secondsText}s`;
}
