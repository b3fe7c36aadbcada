import type { PaymentRequestBody } from '../lanes/payment.js';
import { type RandomSource, between, pick } from '../platform/random.js';
import { DOUBLED_ROLES, type DoubledRole, type LaneAnswer, type LaneRequestLog } from './lane-requests.js';
import type { SimScheduler } from './scheduler.js';
import type { SimNode } from './sim-node.js';

/** One sale in this many is sent again from the box's other till. */
const DOUBLE_ONE_IN = 6;
/** How soon after the sale's own request the doubled one goes out. */
const MAX_OFFSET_MS = 50;
/** The other amount of an `other-amount` request differs by up to this many minor units. */
const MAX_AMOUNT_SHIFT_MINOR = 500;

/**
 * Now and then a sale's request is also sent, at nearly the same moment and under the same
 * idempotency key, from the box's other till: the same body (it must join the sale's payment), the
 * same body at the other lane, or another amount (either must be refused, as a different body).
 * Each is sent once and never retried: a refusal is the expected answer, and a join has nothing
 * to learn that the sale's own till will not.
 *
 * Only a sale whose own request is running or answered with its payment is doubled. One refused
 * before it started (box down, no reader) left its key free, and a different body sent then would
 * simply be a payment of its own, which the POS would then have to follow under the sale's key.
 */
export class DoubledRequests {
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: RandomSource,
    private readonly log: LaneRequestLog,
  ) {}

  /** Called with a sale's first request as it goes out; everything drawn now, so the seed alone decides. */
  maybeDouble(node: SimNode, sale: PaymentRequestBody, first: Promise<LaneAnswer>): void {
    const { random } = this;
    if (random.int(DOUBLE_ONE_IN) !== 0) return;
    const otherLane = node.laneIds.find((lane) => lane !== sale.lane);
    const roles = DOUBLED_ROLES.filter((role) => role !== 'other-lane' || otherLane !== undefined);
    const role = pick(random, roles);
    const offsetMs = between(random, 0, MAX_OFFSET_MS);
    const shiftMinor = between(random, 1, MAX_AMOUNT_SHIFT_MINOR);
    const body = doubledBody(role, sale, otherLane, shiftMinor);
    let refusedFirst = false;
    void first.then((answer) => {
      refusedFirst = answer.kind !== 'payment';
    });
    this.scheduler.after(offsetMs, () => {
      if (refusedFirst) {
        this.log.doubled.skipped++;
        return;
      }
      void this.log.ask(node, role, body);
    });
  }
}

function doubledBody(role: DoubledRole, sale: PaymentRequestBody, otherLane: string | undefined, shiftMinor: number): PaymentRequestBody {
  switch (role) {
    case 'same-lane':
      return { ...sale };
    case 'other-lane':
      return { ...sale, lane: otherLane! };
    case 'other-amount':
      return { ...sale, amountMinor: sale.amountMinor + shiftMinor };
  }
}
