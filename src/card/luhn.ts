/** The ISO/IEC 7812 check digit (Luhn, mod 10) over a string of decimal digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Appends the digit that makes `partial` pass the Luhn check: for generating test cards. */
export function withLuhnDigit(partial: string): string {
  for (let d = 0; d <= 9; d++) {
    const candidate = `${partial}${d}`;
    if (luhnValid(candidate)) return candidate;
  }
  throw new Error(`unreachable: no check digit for ${partial.length} digits`);
}
