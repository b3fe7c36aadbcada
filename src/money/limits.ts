/**
 * Bounds of a payment amount in minor units, the same wherever a payment travels (the POS API,
 * the reader protocol). The upper bound is the card reader's: EMV Amount, Authorised (tag 9F02)
 * is n12, twelve BCD digits, so an amount of 10^12 minor units or more cannot reach a reader; a
 * payment that size would start the reader only to end without a decision.
 */
export const MIN_AMOUNT_MINOR = 1;
export const MAX_AMOUNT_MINOR = 999_999_999_999;
