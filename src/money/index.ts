export {
  type CurrencyCode,
  isCurrencyCode,
  knownCurrencies,
  parseCurrency,
  minorUnits,
  formatMinor,
  isAmountMinor,
} from './currency.js';
