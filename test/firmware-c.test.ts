import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from './support/tmp.js';

// The C99 reference implementation a reader's firmware embeds (firmware-bridge/firmware/) must
// agree with vectors.json byte for byte, like the TypeScript codec. `make test` builds it under
// ASan/UBSan, runs its unit tests and fuzzers, then the shared vectors, whose runner prints
// "N passed, M failed" last.

const FIRMWARE_DIR = fileURLToPath(new URL('../firmware-bridge/firmware', import.meta.url));
const VECTORS = fileURLToPath(new URL('../firmware-bridge/vectors.json', import.meta.url));
const RESULT_LINE = /^(\d+) passed, 0 failed$/;
const VECTOR_SECTIONS = ['crc16', 'frames', 'decoder', 'tlv', 'messages'] as const;
// The `secure` section (1.1) is an object: its `auth` and `cards` lists are vectors too.
const SECURE_LISTS = ['auth', 'cards'] as const;
// Compiling six files twice plus 450k fuzz iterations under ASan takes seconds; a loaded CI box gets headroom.
const BUILD_TIMEOUT_MS = 240_000;

const tempDir = useTempDir('edgepay-firmware-c-');

/** Fail (never skip) when a tool CI is meant to install is missing. */
function requireTool(tool: string): void {
  const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  const error = probe.error as NodeJS.ErrnoException | undefined;
  if (error?.code === 'ENOENT') {
    throw new Error(`\`${tool}\` is not on PATH: the C firmware tests need a C compiler (cc) and make; CI installs them (e.g. apt-get install build-essential)`);
  }
  if (error !== undefined || probe.status !== 0) {
    throw new Error(`\`${tool} --version\` failed: ${error?.message ?? probe.stderr}`);
  }
}

function output(run: SpawnSyncReturns<string>): string {
  return `exit ${String(run.status)}${run.signal ? ` (signal ${run.signal})` : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines[lines.length - 1] ?? '';
}

function vectorCount(): number {
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Record<string, unknown>;
  const secure = (vectors.secure ?? {}) as Record<string, unknown>;
  const count = (list: unknown): number => (Array.isArray(list) ? list.length : 0);
  return VECTOR_SECTIONS.reduce((sum, section) => sum + count(vectors[section]), 0) + SECURE_LISTS.reduce((sum, list) => sum + count(secure[list]), 0);
}

function makeTest(build: string, vectors: string): SpawnSyncReturns<string> {
  requireTool('cc');
  requireTool('make');
  expect(existsSync(vectors), `${vectors} is missing`).toBe(true);
  return spawnSync('make', ['-s', '--no-print-directory', '-C', FIRMWARE_DIR, 'test', `VECTORS=${vectors}`, `BUILD=${build}`], { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
}

describe('firmware C99 reference implementation', () => {
  it('passes every shared vector, its unit tests and its fuzzers under ASan and UBSan', () => {
    const build = tempDir();
    const run = makeTest(build, VECTORS);

    expect(run.error, output(run)).toBeUndefined();
    expect(run.status, output(run)).toBe(0);
    const result = RESULT_LINE.exec(lastLine(run.stdout));
    expect(result, output(run)).not.toBeNull();
    const passed = Number(result![1]);
    expect(passed).toBeGreaterThan(0);
    // Every vector of every section ran: a runner that skipped a section would still say "0 failed".
    expect(passed).toBe(vectorCount());
    expect(run.stdout).toMatch(/^unit: \d+ passed, 0 failed/m);
    expect(run.stdout).toMatch(/^fuzz_decoder: seed .*: ok$/m);
    expect(run.stdout).toMatch(/^fuzz_messages: seed .*: ok$/m);
    expect(existsSync(join(build, 'libedgepay_fw.a')), 'make test also builds the static library').toBe(true);
  });

  it('reports a vector that disagrees with the C code by name, and exits non-zero', () => {
    const build = tempDir();
    const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
      crc16: { name: string; crcHex: string }[];
      tlv: { name: string; ok: boolean; error?: string }[];
    };
    const crc = vectors.crc16[0]!;
    crc.crcHex = ((Number.parseInt(crc.crcHex, 16) ^ 1) & 0xffff).toString(16).padStart(4, '0');
    const refusal = vectors.tlv.find((v) => !v.ok && v.error !== 'too_long')!;
    refusal.error = 'too_long';
    const broken = join(build, 'vectors-broken.json');
    writeFileSync(broken, JSON.stringify(vectors));

    const run = makeTest(build, broken);

    expect(run.status, output(run)).not.toBe(0);
    expect(lastLine(run.stdout), output(run)).toMatch(/^[1-9]\d* passed, 2 failed$/);
    expect(run.stdout).toContain(`FAIL crc16 "${crc.name}"`);
    expect(run.stdout).toContain(`FAIL tlv "${refusal.name}"`);
  });
});
