import { describe, expect, it } from 'vitest';
import { forwardingLog } from '../src/actors/worker-log.js';
import { EdgepayError } from '../src/errors.js';
import { ManualClock } from '../src/platform/clock.js';
import { REOPEN_DELAY_MS, ReaderConnection } from '../src/reader/reader-connection.js';
import { loadReaderProfile } from '../src/reader/profile.js';

/*
 * How soon a reader plugged back in is tried again: the node keeps opening an absent reader's port
 * at a bounded pace however long it has been gone, so the lane's repair after a replug is that
 * pace plus the handshake, not a backoff grown during the outage.
 */

describe('an absent reader\'s port', () => {
  it('is tried again at most REOPEN_DELAY_MS.max apart however long the reader stays away, and warned about once', async () => {
    const delays: number[] = [];
    let due: (() => void) | undefined;
    let opens = 0;
    const warnings: unknown[] = [];
    const log = forwardingLog((record) => (record.level === 'warn' ? warnings.push(record) : undefined), 0, {});
    const connection = new ReaderConnection(
      { lane: 'lane-1', port: '/dev/edgepay/lane-1', profile: loadReaderProfile('edgepay-sim'), keys: { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' } },
      { onMessage: () => undefined, onLost: () => undefined },
      log,
      {
        openPort: async (path) => {
          opens++;
          throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `cannot open serial device ${path}: no such device`, { port: path });
        },
        timers: {
          setTimeout: (callback, delayMs) => {
            delays.push(delayMs);
            due = callback;
            return delays.length;
          },
          clearTimeout: () => undefined,
        },
        clock: new ManualClock(0),
      },
    );
    connection.start();
    // Ten minutes of absence, one attempt at a time.
    for (let elapsed = 0; elapsed < 600_000; ) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = due;
      due = undefined;
      expect(next, 'a retry is always scheduled while the reader is absent').toBeDefined();
      elapsed += delays.at(-1)!;
      next!();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(connection.state).toBe('disconnected');
    expect(delays[0]).toBe(REOPEN_DELAY_MS.first);
    expect(Math.max(...delays)).toBe(REOPEN_DELAY_MS.max);
    expect(REOPEN_DELAY_MS.max).toBeLessThanOrEqual(250);
    // Every attempt an open(2), about four a second at the cap; one warning for the whole outage.
    expect(opens).toBe(delays.length);
    expect(warnings).toHaveLength(1);
    await connection.stop();
  });
});
