/**
 * First millisecond after a card's validity, in UTC: a card is valid through the last day of its
 * expiry month. Null for a year/month pair that cannot be a real expiry, so the caller declines
 * instead of computing a date from garbage (Date.UTC would roll month 13 into the next year).
 */
export function expiryEndMs(expiryYear: number, expiryMonth: number): number | null {
  if (!Number.isSafeInteger(expiryYear) || expiryYear < 1970 || expiryYear > 9999) return null;
  if (!Number.isSafeInteger(expiryMonth) || expiryMonth < 1 || expiryMonth > 12) return null;
  // Date.UTC months are 0-based, so passing the 1-based month gives the first day of the next one.
  return Date.UTC(expiryYear, expiryMonth, 1);
}

export function formatExpiry(expiryYear: number, expiryMonth: number): string {
  return `${expiryYear}-${String(expiryMonth).padStart(2, '0')}`;
}
