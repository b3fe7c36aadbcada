import { describe, expect, it } from 'vitest';
import { answerTopic, authorizeTopic, uplinkTopic } from '../src/central/centre-topics.js';
import { ownBytes } from '../src/platform/thread-bytes.js';
import { CentreRelay, MAX_HELD_ANSWERS, MAX_HELD_ANSWER_BYTES, MAX_TAKE_WAIT_MS } from '../src/replication/broker/centre-relay.js';
import type { MqttPort, PublishOptions } from '../src/replication/broker/port.js';
import { silentLog } from '../src/platform/replication-log.js';

/*
 * The centre link's traffic on the replicator's connection (src/replication/broker/centre-relay.ts): what
 * it lets out, and how it hands the centre's answers to the uplink. Over real brokers and
 * processes: test/centre-tls.test.ts and test/centre-answer-signatures.test.ts.
 */

const at = ['f', 's', 'box-1'] as const;

function relayWith(maxPayloadBytes = 1_000): { relay: CentreRelay; sent: { topic: string; payload: Buffer; options: PublishOptions }[]; warnings: string[] } {
  const sent: { topic: string; payload: Buffer; options: PublishOptions }[] = [];
  const warnings: string[] = [];
  const port: MqttPort = {
    connected: true,
    publish: (topic, payload, options) => {
      sent.push({ topic, payload, options });
      return Promise.resolve();
    },
  };
  const relay = new CentreRelay({
    answerTopic: answerTopic(...at),
    requestTopics: [uplinkTopic(...at), authorizeTopic(...at)],
    maxPayloadBytes,
    port,
    log: { ...silentLog, warn: (_fields, msg) => warnings.push(msg) },
  });
  return { relay, sent, warnings };
}

const bytes = (text: string): Buffer => Buffer.from(text);

describe("the centre relay on the replicator's connection", () => {
  it("publishes QoS 1 on this node's own uplink and authorize topics only, and nothing over the size limit", async () => {
    const { relay, sent } = relayWith();
    await relay.publish(uplinkTopic(...at), bytes('batch'));
    await relay.publish(authorizeTopic(...at), new Uint8Array([1, 2, 3]));
    expect(sent.map((s) => [s.topic, s.payload.toString('hex'), s.options.qos])).toEqual([
      [uplinkTopic(...at), bytes('batch').toString('hex'), 1],
      [authorizeTopic(...at), '010203', 1],
    ]);
    for (const topic of [uplinkTopic('f', 's', 'box-2'), authorizeTopic('f', 's2', 'box-1'), answerTopic(...at), 'edgepay/v1/f/s/box-1/journal', 'edgepay/v1/f/s/rules']) {
      await expect(relay.publish(topic, bytes('x'))).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    }
    await expect(relay.publish(uplinkTopic(...at), Buffer.alloc(1_001))).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    await expect(relay.publish(uplinkTopic(...at), 'text' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    expect(sent).toHaveLength(2);
  });

  it('hands what it holds at once, in order; a waiting take gets the next answer as it comes, or none after its wait', async () => {
    const { relay } = relayWith();
    relay.receive(bytes('a1'));
    relay.receive(bytes('a2'));
    expect((await relay.take(1_000)).answers.map((a) => Buffer.from(a).toString())).toEqual(['a1', 'a2']);

    const waiting = relay.take(1_000);
    const startedMs = Date.now();
    setTimeout(() => relay.receive(bytes('a3')), 20);
    expect((await waiting).answers.map((a) => Buffer.from(a).toString())).toEqual(['a3']);
    expect(Date.now() - startedMs).toBeLessThan(900);

    const emptyStartedMs = Date.now();
    expect((await relay.take(50)).answers).toEqual([]);
    expect(Date.now() - emptyStartedMs).toBeGreaterThanOrEqual(45);
    expect((await relay.take(0)).answers).toEqual([]);
  });

  it('one taker at a time: a newer take (an uplink restarted) ends the older one empty and gets what comes', async () => {
    const { relay } = relayWith();
    const older = relay.take(1_000);
    const newer = relay.take(1_000);
    expect((await older).answers).toEqual([]);
    relay.receive(bytes('late'));
    expect((await newer).answers.map((a) => Buffer.from(a).toString())).toEqual(['late']);
  });

  it('refuses a wait it could not end in time for a shutdown', async () => {
    const { relay } = relayWith();
    for (const waitMs of [-1, 1.5, MAX_TAKE_WAIT_MS + 1, Number.NaN]) await expect(relay.take(waitMs)).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
  });

  it('holds a bounded number of answers and bytes between takes, dropping the oldest, and says so once', async () => {
    const { relay, warnings } = relayWith();
    for (let n = 0; n < MAX_HELD_ANSWERS + 10; n++) relay.receive(bytes(`a${n}`));
    const { answers } = await relay.take(0);
    expect(answers).toHaveLength(MAX_HELD_ANSWERS);
    expect(Buffer.from(answers[0]!).toString()).toBe('a10');
    expect(warnings).toHaveLength(1);

    const big = Buffer.alloc(MAX_HELD_ANSWER_BYTES / 4 + 1);
    for (let n = 0; n < 4; n++) relay.receive(big);
    expect((await relay.take(0)).answers).toHaveLength(3);
    expect(warnings).toHaveLength(2);
  });

  it("hands each answer in a buffer of its own, so the clone to the uplink's thread copies only its bytes", async () => {
    const { relay } = relayWith();
    const socketChunk = Buffer.from('....answer....');
    relay.receive(socketChunk.subarray(4, 10));
    const [answer] = (await relay.take(0)).answers;
    expect(answer!.buffer.byteLength).toBe(6);
    expect(Buffer.from(answer!).toString()).toBe('answer');
    const owned = new Uint8Array([1, 2]);
    expect(ownBytes(owned)).toBe(owned);
  });

  it('once closed, ends the waiting take, holds nothing and publishes nothing', async () => {
    const { relay, sent } = relayWith();
    const waiting = relay.take(1_000);
    relay.close();
    expect((await waiting).answers).toEqual([]);
    relay.receive(bytes('after'));
    expect((await relay.take(0)).answers).toEqual([]);
    await expect(relay.publish(uplinkTopic(...at), bytes('x'))).rejects.toMatchObject({ code: 'EDGEPAY_CENTRE_UNAVAILABLE' });
    expect(sent).toEqual([]);
  });
});
