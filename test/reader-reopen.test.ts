import { describe, expect, it } from 'vitest';
import { forwardingLog } from '../src/actors/worker-log.js';
import { EdgepayError } from '../src/errors.js';
import { ManualClock } from '../src/platform/clock.js';
import { REOPEN_DELAY_MS, ReaderConnection } from '../src/reader/reader-connection.js';
import { loadReaderProfile } from '../src/reader/profile.js';
import { handleReaderRequest, startLaneReader } from '../src/reader/reader-service.js';

/*
 * How soon a reader plugged back in is tried again: the node keeps opening an absent reader's port
 * at a bounded pace however long it has been gone, so the lane's repair after a replug is that
 * pace plus the handshake, not a backoff grown during the outage.
 */

describe("an absent reader's port", () => {
  it('is tried again at most REOPEN_DELAY_MS.max apart however long the reader stays away, and warned about once', async () => {
    const delays: number[] = [];
    let due: (() => void) | undefined;
    let opens = 0;
    const warnings: unknown[] = [];
    const log = forwardingLog((record) => (record.level === 'warn' ? warnings.push(record) : undefined), 0, {});
    const connection = new ReaderConnection(
      { lane: 'lane-1', port: '/dev/edgepay/lane-1', profile: loadReaderProfile('edgepay-sim'), keys: { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' } },
      { onMessage: () => undefined, onLost: () => undefined, onReaderError: () => undefined, onReaderForgot: () => undefined },
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

describe('a reader the node is still shaking hands with', () => {
  function connectionOpening(): { connection: ReaderConnection; fail: () => void; fire: () => void } {
    let fail!: () => void;
    let due: (() => void) | undefined;
    const connection = new ReaderConnection(
      { lane: 'lane-1', port: '/dev/edgepay/lane-1', profile: loadReaderProfile('edgepay-sim'), keys: { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' } },
      { onMessage: () => undefined, onLost: () => undefined, onReaderError: () => undefined, onReaderForgot: () => undefined },
      forwardingLog(() => undefined, 100, {}),
      {
        // The port opens as slowly as the test says: until then the connection is 'connecting'.
        openPort: (path) => new Promise((_, reject) => (fail = () => reject(new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `cannot open ${path}`, { port: path })))),
        timers: {
          setTimeout: (callback) => {
            due = callback;
            return callback;
          },
          clearTimeout: (timer) => {
            if (due === timer) due = undefined;
          },
        },
        clock: new ManualClock(0),
      },
    );
    connection.start();
    return { connection, fail: () => fail(), fire: () => due?.() };
  }

  it('is waited for until the handshake ends, and no longer', async () => {
    const opening = connectionOpening();
    expect(opening.connection.state).toBe('connecting');
    let settled = false;
    const waiting = opening.connection.settled(1_000).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    opening.fail();
    await waiting;
    expect(opening.connection.state).toBe('disconnected');
    // Not connecting: answered at once.
    await expect(opening.connection.settled(1_000)).resolves.toBeUndefined();
    await opening.connection.stop();
  });

  it('a handshake that does not end within the wait lets the caller go on, still connecting', async () => {
    const opening = connectionOpening();
    const waiting = opening.connection.settled(1_000);
    opening.fire();
    await waiting;
    expect(opening.connection.state).toBe('connecting');
    await opening.connection.stop();
  });
});

describe("the reader actor's status request", () => {
  it('with settle, answers once the handshake in progress ended; without, at once with connecting', async () => {
    let fail!: () => void;
    const reader = startLaneReader(
      { lane: 'lane-1', port: '/dev/edgepay/lane-1', profile: loadReaderProfile('edgepay-sim'), keys: { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' } },
      forwardingLog(() => undefined, 100, {}),
      () => Promise.reject(new Error('no card here')),
      {
        openPort: (path) => new Promise((_, reject) => (fail = () => reject(new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `cannot open ${path}`, { port: path })))),
        timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
        clock: new ManualClock(0),
      },
    );
    expect(await handleReaderRequest(reader, { type: 'status' })).toMatchObject({ state: 'connecting' });
    let answer: unknown;
    const settling = Promise.resolve(handleReaderRequest(reader, { type: 'status', settle: true })).then((status) => (answer = status));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answer).toBeUndefined();
    fail();
    await settling;
    expect(answer).toMatchObject({ lane: 'lane-1', state: 'disconnected' });
    await reader.connection.stop();
  });
});
