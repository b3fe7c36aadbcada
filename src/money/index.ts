export {
  type CurrencyCode,
  isCurrencyCode,
  knownCurrencies,
  parseCurrency,
  minorUnits,
  formatMinor,
  isAmountMinor,
  numericCode,
  currencyFromNumeric,
} from './currency.js';
