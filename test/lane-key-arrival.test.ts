import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgepayError } from '../src/errors.js';
import { type LaneRuntime, LaneService } from '../src/lanes/lane-service.js';
import { PaymentOutcomes } from '../src/lanes/payment-outcomes.js';
import { systemClock } from '../src/platform/clock.js';
import { type ReaderRequest, readerActorId } from '../src/reader/reader-actor-protocol.js';
import { useTempDir } from './support/tmp.js';

/*
 * One key, one payment, owned by the request that arrived first: while its reader is asked (a
 * handshake in progress can take up to a second), a request under the same key at a lane whose
 * reader answers at once must not take the key. The lane logic runs against a runtime whose
 * readers answer when the test says; everything else (the lanes' record) is real.
 */

const tempDir = useTempDir();
const services: { outcomes: PaymentOutcomes }[] = [];
afterEach(() => {
  for (const { outcomes } of services.splice(0)) outcomes.close();
});

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Two lanes; lane A's reader answers its status when the test releases it, lane B's at once. */
function twoLanes() {
  const statusA = deferred<{ state: string }>();
  const collectA = deferred<never>();
  const asked: string[] = [];
  const followUps: string[] = [];
  const runtime: LaneRuntime = {
    isAccepting: true,
    addStopHooks: () => undefined,
    findEntry: () => null,
    track: (work) => work(),
    askOnce: (async (actorId: string, request: ReaderRequest) => {
      asked.push(`${actorId} ${request.type}`);
      if (request.type === 'status') return actorId === readerActorId('A') ? statusA.promise : { state: 'ready' };
      if (request.type === 'collect') return actorId === readerActorId('A') ? collectA.promise : new Promise(() => undefined);
      return undefined;
    }) as LaneRuntime['askOnce'],
    decideCaptured: () => Promise.reject(new Error('no card is read in these tests')),
    followUp: (request) => {
      followUps.push(request.idempotencyKey);
      return Promise.reject(new Error('not decided here'));
    },
  };
  const outcomes = new PaymentOutcomes(join(tempDir(), 'payments.sqlite'));
  services.push({ outcomes });
  const config = {
    lanes: [
      { id: 'A', port: '/dev/null', profile: 'edgepay-sim' },
      { id: 'B', port: '/dev/null', profile: 'edgepay-sim' },
    ],
  };
  const service = new LaneService(runtime, config, systemClock, pino({ level: 'silent' }), outcomes);
  return { service, statusA, collectA, asked, followUps };
}

const sale = { lane: 'A', amountMinor: 1_250, currency: 'EUR', reference: 'r-1', idempotencyKey: 'k-1' };
const timedOut = () => new EdgepayError('EDGEPAY_READER_TIMEOUT', 'no card presented', {});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  if (error === undefined) throw new Error('expected a refusal, got a payment');
  return error;
}

describe('the first request under a key owns it while its reader is asked', () => {
  it('a request at another lane or with another amount is refused as a conflict at once; the same request joins and gets the same payment', async () => {
    const { service, statusA, collectA, asked } = twoLanes();
    const first = service.pay(sale);
    await Promise.resolve();

    const otherLane = await refusal(service.pay({ ...sale, lane: 'B' }));
    expect(otherLane.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
    expect(otherLane.message).toContain('being started at lane A');
    expect(otherLane.message).toContain('lane "A" vs "B"');
    const otherAmount = await refusal(service.pay({ ...sale, amountMinor: 1_251 }));
    expect(otherAmount.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
    expect(otherAmount.message).toContain('amountMinor 1250 vs 1251');
    // Lane B's reader was never asked anything: the refusal came before any reader.
    expect(asked.filter((line) => line.includes(readerActorId('B')))).toEqual([]);

    const joined = service.pay({ ...sale });
    statusA.resolve({ state: 'ready' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    collectA.reject(timedOut());
    const [own, joiner] = await Promise.all([first, joined]);
    expect(own.replayed).toBe(false);
    expect(joiner.replayed).toBe(true);
    expect(own.payment).toMatchObject({ id: 'k-1', lane: 'A', status: 'failed', error: { code: 'EDGEPAY_READER_TIMEOUT' } });
    expect(joiner.payment).toEqual(own.payment);
    expect(asked.filter((line) => line.endsWith('collect'))).toEqual([`${readerActorId('A')} collect`]);
  });

  it('a void or refund under the key of a payment being started is refused before the journal is asked', async () => {
    const { service, statusA, followUps } = twoLanes();
    const first = service.pay(sale);
    await Promise.resolve();
    const voided = await refusal(service.followUp('p-0', 'void', 'k-1'));
    expect(voided.code).toBe('EDGEPAY_IDEMPOTENCY_CONFLICT');
    expect(voided.message).toContain('payment "k-1" at lane A');
    expect(followUps).toEqual([]);
    statusA.resolve({ state: 'disconnected' });
    await refusal(first);
  });

  it('a first request refused before its claim gives its joiners the same refusal and leaves the key free', async () => {
    const { service, statusA } = twoLanes();
    const first = service.pay(sale);
    await Promise.resolve();
    const joined = service.pay({ ...sale });
    statusA.resolve({ state: 'disconnected' });
    const [own, joiner] = await Promise.all([refusal(first), refusal(joined)]);
    expect(own.code).toBe('EDGEPAY_READER_UNAVAILABLE');
    expect(joiner).toBe(own);
    // Nothing started under the key: a request at the other lane is now a payment of its own.
    const elsewhere = service.pay({ ...sale, lane: 'B' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(service.get('k-1')).resolves.toMatchObject({ lane: 'B', status: 'waiting_for_card' });
    void elsewhere.catch(() => undefined);
  });
});
