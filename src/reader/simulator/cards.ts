import { withLuhnDigit } from '../../card/luhn.js';
import { BadInputError } from '../../errors.js';

/*
 * The cards the simulated reader presents, one per START_TXN, cycling through a script. Each kind
 * exercises one path of the node: the reader itself never judges a card (expired and hot cards are
 * read like any other; the rules decline them later).
 */

export const SIM_CARD_KINDS = ['good', 'regular', 'expired', 'hot', 'bad-luhn', 'bad-crc', 'slow', 'unplug', 'no-card'] as const;
export type SimCardKind = (typeof SIM_CARD_KINDS)[number];

/** The PAN of the `hot` card: fixed, so a test can put it on the hot list before the run. */
export const SIM_HOT_PAN = withLuhnDigit('400000066600000');

/**
 * The `regular` cards: a few customers who come back, at every lane of every store that uses the
 * same seed-independent pool, so per-card limits and shared exposure across lanes come into play.
 */
export const SIM_REGULAR_PANS = [0, 1, 2, 3].map((i) => withLuhnDigit(`40000077700000${i}`));

/** How long the `slow` card takes to be presented. */
export const SLOW_CARD_DELAY_MS = 1500;

export interface SimCard {
  readonly pan: string;
  readonly expiryYymm: string;
}

export function parseCardScript(list: string): SimCardKind[] {
  const kinds = list
    .split(',')
    .map((kind) => kind.trim())
    .filter((kind) => kind.length > 0);
  const unknown = kinds.filter((kind) => !(SIM_CARD_KINDS as readonly string[]).includes(kind));
  if (kinds.length === 0 || unknown.length > 0) {
    throw new BadInputError('card script', [{ path: 'cards', message: `must be a comma-separated list of ${SIM_CARD_KINDS.join(', ')}`, value: unknown.length > 0 ? unknown.join(',') : list }]);
  }
  return kinds as SimCardKind[];
}

/**
 * Deterministic for a seed, so a failing run can be replayed; mulberry32 because test cards need
 * variety, not unpredictability.
 */
export class CardFactory {
  private state: number;

  constructor(
    seed: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.state = seed >>> 0;
  }

  /** The card for one presentation; undefined for kinds that present no card (unplug, no-card). */
  card(kind: SimCardKind): SimCard | undefined {
    switch (kind) {
      case 'unplug':
      case 'no-card':
        return undefined;
      case 'hot':
        return { pan: SIM_HOT_PAN, expiryYymm: this.expiry(3) };
      case 'regular':
        return { pan: SIM_REGULAR_PANS[this.random() % SIM_REGULAR_PANS.length]!, expiryYymm: this.expiry(3) };
      case 'expired':
        return { pan: this.pan(), expiryYymm: this.expiry(-1) };
      case 'bad-luhn': {
        const pan = this.pan();
        const check = Number(pan.slice(-1));
        return { pan: `${pan.slice(0, -1)}${(check + 1) % 10}`, expiryYymm: this.expiry(3) };
      }
      case 'good':
      case 'bad-crc':
      case 'slow':
        return { pan: this.pan(), expiryYymm: this.expiry(3) };
    }
  }

  private pan(): string {
    let body = '4';
    for (let i = 0; i < 14; i++) body += String(this.random() % 10);
    return withLuhnDigit(body);
  }

  /** YYMM `years` from this month (negative: in the past). */
  private expiry(years: number): string {
    const today = this.now();
    const year = (today.getUTCFullYear() + years) % 100;
    const month = today.getUTCMonth() + 1;
    return `${String(year).padStart(2, '0')}${String(month).padStart(2, '0')}`;
  }

  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
