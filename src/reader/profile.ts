import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { BadInputError, EdgepayError } from '../errors.js';
import { parseWith, strictObject as strict, wholeNumber as int } from '../validation.js';
import { packagePath } from '../platform/modules.js';
import { shortIdSchema } from '../ids.js';

/*
 * A reader profile says how to talk to one reader model: serial settings, protocol version and
 * limits, timeouts and capabilities. Profiles are validated when they are loaded, so a typo in a
 * profile stops the node at start with the key named, not a lane at its first payment.
 */

export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

export const readerProfileSchema = strict({
  model: shortIdSchema(),
  description: z.string().max(200).optional(),
  protocolVersion: z.literal(1, { error: 'must be 1 (the protocol version this edgepay speaks)' }),
  serial: strict({
    baudRate: z.union(
      BAUD_RATES.map((rate) => z.literal(rate)),
      { error: `must be one of ${BAUD_RATES.join(', ')}` },
    ),
    dataBits: z.literal(8, { error: 'must be 8' }),
    parity: z.literal('none', { error: 'must be "none"' }),
    stopBits: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }),
  }),
  // At least 256: the node announces it as what it takes, and a secure reader's SEALED_CARD (token, sealed box, TLV, signature) needs about 230.
  framing: strict({ maxPayloadBytes: int(256, 1024, 'bytes') }),
  timeouts: strict({
    ackMs: int(10, 10_000, 'milliseconds'),
    retransmissions: int(0, 10, 'resends before the link is down'),
    cardWaitMs: int(1_000, 600_000, 'milliseconds'),
    healthPollMs: int(100, 600_000, 'milliseconds'),
  }),
  capabilities: z.array(z.enum(['contact', 'contactless', 'display'], { error: 'must be contact, contactless or display' })).min(1, { error: 'must list at least one capability' }),
});

export type ReaderProfile = z.output<typeof readerProfileSchema>;

export function parseReaderProfile(input: unknown, source: string): ReaderProfile {
  return parseWith(readerProfileSchema, input, `reader profile ${source}`);
}

/** The profiles shipped in devices/ (one JSON file per model, named after it). */
export function devicesDir(): string {
  return packagePath('devices/');
}

export function loadReaderProfile(nameOrPath: string, dir = devicesDir()): ReaderProfile {
  const file = nameOrPath.endsWith('.json') ? nameOrPath : join(dir, `${nameOrPath}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    const known = listReaderProfiles(dir);
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `reader profile ${JSON.stringify(nameOrPath)} not found (known: ${known.join(', ') || 'none'})`, {
      profile: nameOrPath,
      known,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BadInputError(`reader profile ${file}`, [{ path: '', message: `is not valid JSON: ${(cause as Error).message}` }]);
  }
  return parseReaderProfile(json, basename(file));
}

export function listReaderProfiles(dir = devicesDir()): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}
