export type { CardFacts } from './card-facts.js';
export { type RawCard, captureCard, tokenizePan } from './capture.js';
export { type CardKeys, loadCardKeys, decodeKey, TOKEN_KEY_BYTES, SEAL_PUBLIC_KEY_BYTES } from './keys.js';
export { luhnValid, withLuhnDigit } from './luhn.js';
export { sealTo, openSealed, generateSealKeyPair, sodiumReady } from './seal.js';
export { CardCapturePool, type CapturePoolOptions } from './capture-pool.js';
