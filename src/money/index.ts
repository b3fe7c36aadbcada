export {
  type CurrencyCode,
  isCurrencyCode,
  knownCurrencies,
  parseCurrency,
  minorUnits,
  formatMinor,
  displayAmount,
  isAmountMinor,
  numericCode,
  currencyFromNumeric,
} from './currency.js';
