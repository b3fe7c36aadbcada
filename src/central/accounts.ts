/*
 * The centre's chart of accounts, one account per currency: postings never mix currencies, so
 * every transfer balances within its own currency. Debits are positive, credits negative.
 */

/** What the centre owes the store for its card sales. */
export function merchantAccount(store: string, currency: string): string {
  return `merchant:${store}:${currency}`;
}

/** What the card networks owe the centre for settled card payments. */
export function cardClearingAccount(currency: string): string {
  return `card-clearing:${currency}`;
}

/** Offline approvals the centre could not collect (hot card, no funds, forwarded too late): the stand-in risk. */
export function offlineRiskAccount(currency: string): string {
  return `offline-risk:${currency}`;
}

export function currencyOfAccount(account: string): string {
  return account.slice(account.lastIndexOf(':') + 1);
}
