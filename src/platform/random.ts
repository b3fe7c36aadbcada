import { randomBytes } from 'node:crypto';

/** Randomness is injected so a simulation can replay a run from its seed. */
export interface RandomSource {
  bytes(length: number): Uint8Array;
  /** A uniformly distributed integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

export const systemRandom: RandomSource = {
  bytes: (length) => new Uint8Array(randomBytes(length)),
  int: (maxExclusive) => {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`int needs a positive safe integer bound, got ${maxExclusive}`);
    }
    return Math.floor((randomBytes(6).readUIntBE(0, 6) / 2 ** 48) * maxExclusive);
  },
};

/** SplitMix64: small, fast and good enough to make simulated schedules reproducible (not for keys). */
export class SeededRandom implements RandomSource {
  private state: bigint;

  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }

  private next64(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 8) {
      let word = this.next64();
      for (let j = i; j < Math.min(i + 8, length); j++) {
        out[j] = Number(word & 0xffn);
        word >>= 8n;
      }
    }
    return out;
  }

  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`int needs a positive safe integer bound, got ${maxExclusive}`);
    }
    return Number(this.next64() >> 11n) % maxExclusive;
  }
}

/** A whole number in [min, max]. */
export function between(random: RandomSource, min: number, max: number): number {
  return min + random.int(max - min + 1);
}

export function pick<T>(random: RandomSource, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list');
  return items[random.int(items.length)] as T;
}

/** A new array with the items in a seeded order (Fisher-Yates). */
export function shuffle<T>(random: RandomSource, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
