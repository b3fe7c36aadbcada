import type { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { CardCapturePool, generateSealKeyPair, openSealed, tokenizePan } from '../src/card/index.js';

const pools: CardCapturePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function pool(options: { threads?: number; maxQueue?: number } = {}) {
  const centre = await generateSealKeyPair();
  const keys = { tokenKey: Buffer.alloc(32, 5), centrePublicKey: centre.publicKey };
  const p = new CardCapturePool({ keys, threads: options.threads ?? 2, maxQueue: options.maxQueue ?? 64 });
  pools.push(p);
  return { pool: p, keys, centre };
}

describe('card capture pool (piscina)', () => {
  it('tokenizes and seals on pool threads, the same as in-thread capture', async () => {
    const { pool: p, keys, centre } = await pool();
    const facts = await p.capture({ pan: '4111111111111111', expiryYymm: '2801' });
    expect(facts.token).toBe(tokenizePan('4111111111111111', keys.tokenKey));
    expect(facts).toMatchObject({ last4: '1111', expiryYear: 2028, expiryMonth: 1, checkDigitValid: true });
    expect(JSON.parse(Buffer.from(openSealed(facts.sealed, centre.publicKey, centre.secretKey)).toString())).toEqual({ pan: '4111111111111111', expiry: '2801' });
  });

  it('keeps the typed error of a malformed card across the thread boundary', async () => {
    const { pool: p } = await pool();
    await expect(p.capture({ pan: '12', expiryYymm: '2801' })).rejects.toMatchObject({ code: 'EDGEPAY_CARD_INVALID', message: expect.stringContaining('card.pan') });
  });

  it('refuses at once with EDGEPAY_OVERLOADED when its queue is full, and completes what it accepted', async () => {
    const { pool: p } = await pool({ threads: 1, maxQueue: 2 });
    const attempts = Array.from({ length: 12 }, (_, i) =>
      p.capture({ pan: `411111111111${String(1000 + i)}`, expiryYymm: '2801' }).then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      ),
    );
    const results = await Promise.all(attempts);
    expect(results).toContain('EDGEPAY_OVERLOADED');
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r === 'ok' || r === 'EDGEPAY_OVERLOADED')).toBe(true);
  });

  it('survives a pool thread dying under a task: the task is retried and the pool keeps serving', async () => {
    const { pool: p } = await pool({ threads: 1 });
    await p.capture({ pan: '4111111111111111', expiryYymm: '2801' });
    // Fault injection: reach the piscina instance and terminate its thread while tasks run on it.
    const piscina = (p as unknown as { pool: Piscina }).pool;
    const inFlight = Array.from({ length: 20 }, () => p.capture({ pan: '4111111111111111', expiryYymm: '2801' }));
    await piscina.threads[0]!.terminate();
    const results = await Promise.allSettled(inFlight);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    expect(p.crashRetries).toBeGreaterThanOrEqual(1);
    await expect(p.capture({ pan: '5100000000000008', expiryYymm: '2801' })).resolves.toMatchObject({ last4: '0008' });
  });
});
