export { KEY_KINDS, PAIR_KINDS, type KeyKind, type KeygenOptions, type KeygenResult, generateKey, isKeyKind } from './keygen.js';
