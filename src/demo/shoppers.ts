import { type RawCard, withLuhnDigit } from '../card/index.js';
import type { RandomSource } from '../platform/random.js';

/** A card in the demo's store, with the trait that makes some rule decline it. */
export interface Shopper {
  readonly name: string;
  readonly card: RawCard;
  readonly trait: 'regular' | 'occasional' | 'hot' | 'expired' | 'mistyped';
}

function digits(random: RandomSource, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(random.int(10));
  return out;
}

function pan(random: RandomSource, prefix: string): string {
  return withLuhnDigit(`${prefix}${digits(random, 15 - prefix.length)}`);
}

/** Breaks the check digit on purpose: what a mis-keyed or forged card number looks like. */
function mistypedPan(random: RandomSource): string {
  const good = pan(random, '5100');
  const last = (Number(good.at(-1)) + 1 + random.int(8)) % 10;
  return `${good.slice(0, -1)}${last}`;
}

export function makeShoppers(random: RandomSource, counts: { regulars: number; occasional: number }): Shopper[] {
  const shoppers: Shopper[] = [];
  const valid = (): string => `${28 + random.int(4)}${String(1 + random.int(12)).padStart(2, '0')}`;
  for (let i = 0; i < counts.regulars; i++) {
    shoppers.push({ name: `regular-${i + 1}`, card: { pan: pan(random, '4000'), expiryYymm: valid() }, trait: 'regular' });
  }
  for (let i = 0; i < counts.occasional; i++) {
    shoppers.push({ name: `shopper-${i + 1}`, card: { pan: pan(random, i % 2 ? '5100' : '4111'), expiryYymm: valid() }, trait: 'occasional' });
  }
  shoppers.push({ name: 'stolen-card', card: { pan: pan(random, '4999'), expiryYymm: valid() }, trait: 'hot' });
  shoppers.push({ name: 'expired-card', card: { pan: pan(random, '4111'), expiryYymm: '2405' }, trait: 'expired' });
  shoppers.push({ name: 'mistyped-card', card: { pan: mistypedPan(random), expiryYymm: valid() }, trait: 'mistyped' });
  return shoppers;
}
