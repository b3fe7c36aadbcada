import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listReaderProfiles, loadReaderProfile, parseReaderProfile } from '../src/reader/profile.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

describe('reader profiles', () => {
  it('loads every shipped profile', () => {
    const names = listReaderProfiles();
    expect(names).toContain('edgepay-sim');
    for (const name of names) expect(loadReaderProfile(name).protocolVersion).toBe(1);
    expect(loadReaderProfile('edgepay-sim')).toMatchObject({ model: 'edgepay-sim', serial: { baudRate: 115200 } });
  });

  it('names every bad key of a profile, with the value and what is allowed', () => {
    const good = loadReaderProfile('edgepay-sim');
    const bad = { ...good, serial: { ...good.serial, baudRate: 12345 }, timeouts: { ...good.timeouts, ackMs: 0 }, colour: 'red' };
    const error = (() => {
      try {
        parseReaderProfile(bad, 'bad.json');
      } catch (e) {
        return e as { code: string; problems: { path: string; message: string; value?: unknown }[] };
      }
      throw new Error('expected refusal');
    })();
    expect(error.code).toBe('EDGEPAY_BAD_INPUT');
    expect(error.problems.map((p) => p.path).sort()).toEqual(['colour', 'serial.baudRate', 'timeouts.ackMs']);
    expect(error.problems.find((p) => p.path === 'serial.baudRate')).toMatchObject({ value: 12345, message: expect.stringContaining('115200') });
  });

  it('takes a maxPayloadBytes from 256 (room for a sealed card) to 1024, and names the bounds otherwise', () => {
    const good = loadReaderProfile('edgepay-sim');
    for (const bytes of [256, 1024]) expect(parseReaderProfile({ ...good, framing: { maxPayloadBytes: bytes } }, 'p.json').framing.maxPayloadBytes).toBe(bytes);
    for (const bytes of [64, 255, 1025]) {
      expect(() => parseReaderProfile({ ...good, framing: { maxPayloadBytes: bytes } }, 'p.json')).toThrow(
        expect.objectContaining({ problems: [expect.objectContaining({ path: 'framing.maxPayloadBytes', value: bytes, message: expect.stringContaining('256') })] }),
      );
    }
  });

  it('an unknown profile name lists the known ones; a broken file is named', () => {
    expect(() => loadReaderProfile('no-such-reader')).toThrow(expect.objectContaining({ code: 'EDGEPAY_NOT_FOUND', message: expect.stringContaining('edgepay-sim') }));
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(() => loadReaderProfile(join(dir, 'broken.json'))).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT', message: expect.stringContaining('broken.json') }));
  });
});
