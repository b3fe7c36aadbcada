import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runLaneBench } from '../src/bench/lane-bench.js';
import type { LaneModeReport } from '../src/bench/lane-bench.js';
import { MessageType, encodeFrame } from '../src/reader/protocol/index.js';
import { cutAtFrames, wireTimeMs } from '../src/reader/simulator/paced-channel.js';

/*
 * The lane bench's shape and honesty, not its speed: timing targets belong to benchmark runs on
 * the machine that matters, not to a test that a loaded CI box would fail.
 */
describe('bench lane: POS API → reader on a paced pty pair → journal → answer', () => {
  it('runs the three modes on a real lane (paced, raw, paced with a secure reader), approves every payment and sets the wire time from the frames', async () => {
    const progress: string[] = [];
    const report = await runLaneBench({ payments: 20, warmup: 2, progress: (line) => progress.push(line) });

    expect(report).toMatchObject({ bench: 'lane', parameters: { payments: 20, warmupPayments: 2, currency: 'EUR', profile: 'edgepay-sim' } });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(existsSync(report.dataDir.path)).toBe(false);

    const { wire } = report;
    expect(wire).toMatchObject({ baudRate: 115200, lineSettings: '8N1', bitsPerByte: 10 });
    expect(wire.criticalPath.frames.map((f) => `${f.from}:${f.message}`)).toEqual(['node:START_TXN', 'reader:ACK', 'reader:CARD_DATA', 'node:ACK']);
    expect(wire.afterAnswer.frames[0]?.message).toBe('SHOW_RESULT');
    for (const frame of [...wire.criticalPath.frames, ...wire.afterAnswer.frames]) {
      // Every frame has the 8 bytes of framing (STX, LEN, SEQ, TYPE, CRC, ETX) around its payload.
      expect(frame.bytes).toBeGreaterThanOrEqual(8);
      expect(frame.wireMs).toBeCloseTo((frame.bytes * 10 * 1000) / 115200, 3);
    }
    const criticalBytes = wire.criticalPath.frames.reduce((sum, f) => sum + f.bytes, 0);
    expect(wire.criticalPath.bytes).toBe(criticalBytes);
    expect(wire.criticalPath.wireMs).toBeGreaterThan(0);
    expect(wire.criticalPath.wireMs).toBeCloseTo(wireTimeMs(criticalBytes, { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }), 3);
    expect(wire.transaction.bytes).toBe(criticalBytes + wire.afterAnswer.bytes);

    for (const [mode, result] of [
      ['paced', report.paced],
      ['unpaced', report.unpaced],
      ['securePaced', report.securePaced],
    ] as const) {
      expectAllApproved(result, mode !== 'unpaced');
    }
    // The secure lane's card is SEALED_CARD, larger on the wire than the PAN it replaces, and its round trip pays for that too.
    const secureFrames = report.securePaced.wire.criticalPath.frames;
    expect(secureFrames.map((f) => `${f.from}:${f.message}`)).toEqual(['node:START_TXN', 'reader:ACK', 'reader:SEALED_CARD', 'node:ACK']);
    expect(secureFrames[2]!.bytes).toBeGreaterThan(wire.criticalPath.frames[2]!.bytes);
    const secureAnswerWaitsForMs = secureFrames.slice(0, 3).reduce((sum, f) => sum + f.wireMs, 0);
    expect(report.securePaced.roundTrip.p50Ms).toBeGreaterThanOrEqual(secureAnswerWaitsForMs);
    // Not a speed target but the pacing's promise: a paced lane cannot answer before START_TXN, its
    // ACK and CARD_DATA have crossed the line (the node's ACK of CARD_DATA overlaps the decision).
    const answerWaitsForMs = wire.criticalPath.frames.slice(0, 3).reduce((sum, f) => sum + f.wireMs, 0);
    expect(report.paced.roundTrip.p50Ms).toBeGreaterThanOrEqual(answerWaitsForMs);
    expect(report.target.p99MaxMs).toBeCloseTo(wire.criticalPath.wireMs + report.parameters.targetHeadroomMs, 3);
    expect(report.target.pacedP99Ms).toBe(report.paced.roundTrip.p99Ms);
    expect(typeof report.meetsTarget).toBe('boolean');
    expect(report.meetsTarget).toBe(report.target.meetsTarget);
    expect(progress.some((line) => line.startsWith('paced:'))).toBe(true);
  });
});

function expectAllApproved(result: LaneModeReport, paced: boolean): void {
  expect(result).toMatchObject({ paced, payments: 20, approved: 20, declined: 0, failed: 0, firstFailure: null });
  expect(result.roundTrip.count).toBe(20);
  expect(result.roundTrip.p50Ms).toBeGreaterThan(0);
  expect(result.roundTrip.p99Ms).toBeGreaterThanOrEqual(result.roundTrip.p50Ms);
  expect(result.paymentsPerSec).toBeGreaterThan(0);
  expect(Object.values(result.decisionCodes).reduce((a, b) => a + b, 0)).toBe(20);
}

describe('the paced line hands frames on one by one', () => {
  it('cuts a chunk where its frames end, and passes on whole a chunk that starts mid-frame', () => {
    const ack = Buffer.from(encodeFrame(3, MessageType.ACK, new Uint8Array(0)));
    const status = Buffer.from(encodeFrame(4, MessageType.STATUS_REQUEST, new Uint8Array(0)));
    expect(cutAtFrames(Buffer.concat([ack, status]))).toEqual([ack, status]);
    expect(cutAtFrames(Buffer.concat([ack, status.subarray(0, 4)]))).toEqual([ack, status.subarray(0, 4)]);
    expect(cutAtFrames(Buffer.concat([ack.subarray(3), status]))).toEqual([Buffer.concat([ack.subarray(3), status])]);
  });
});
