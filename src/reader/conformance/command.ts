/**
 * `edgepay reader conformance`: checks the options (each refusal names the option, the value and
 * what is allowed, before the line is opened), opens the reader's line as the node does, runs the
 * cases and prints the report: text as the run goes, or one JSON document at the end.
 */
import { BadInputError, isEdgepayError } from '../../errors.js';
import { loadReaderProfile } from '../profile.js';
import { SecureSizes } from '../protocol/index.js';
import type { ReaderPort } from '../serial-channel.js';
import { TtyPort } from '../tty-port.js';
import { parseCaseIds } from './case-ids.js';
import { formatCase, formatHeader, formatJson, formatSummary } from './report.js';
import { runConformance } from './run.js';

export interface ConformanceCommandOptions {
  readonly port: string;
  readonly profile: string;
  readonly readerKey?: string;
  readonly json?: boolean;
  readonly case?: readonly string[];
}

export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CommandOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Resolves with whether a case failed; option and line problems throw (EDGEPAY_BAD_INPUT, EDGEPAY_NOT_FOUND). */
export async function runConformanceCommand(opts: ConformanceCommandOptions, out: CommandOutput = processOutput): Promise<{ readonly failed: boolean }> {
  const caseIds = parseCaseIds(opts.case);
  const readerKey = parseReaderKey(opts.readerKey);
  const profile = loadReaderProfile(opts.profile);
  const port = await openReaderLine(opts.port, profile);
  try {
    const json = opts.json === true;
    const report = await runConformance({
      port,
      portPath: opts.port,
      profileName: opts.profile,
      profile,
      caseIds,
      readerKey,
      progress: (line) => out.stderr(`reader-conformance: ${line}\n`),
      ...(json ? {} : { onHeader: (header) => out.stdout(`${formatHeader(header)}\n`), onCase: (result) => out.stdout(`${formatCase(result)}\n`) }),
    });
    out.stdout(`${json ? formatJson(report) : formatSummary(report.summary)}\n`);
    return { failed: report.summary.failed > 0 };
  } finally {
    await port.close();
  }
}

/** Base64 of the raw 32-byte Ed25519 public key, as a lane's readerPublicKey holds it. */
export function parseReaderKey(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || bytes.length !== SecureSizes.PUBLIC_KEY) {
    const got = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? `it decodes to ${bytes.length} bytes` : 'it is not base64';
    throw new BadInputError('--reader-key', [
      { path: '--reader-key', message: `must be base64 of the reader's ${SecureSizes.PUBLIC_KEY}-byte Ed25519 public key (what a lane pins as readerPublicKey); ${got}`, value: text },
    ]);
  }
  return new Uint8Array(bytes);
}

/** The node's own way onto a reader's line (tty-port.ts); a device that cannot be opened is a bad --port. */
export async function openReaderLine(path: string, profile: Parameters<typeof TtyPort.open>[1]): Promise<ReaderPort> {
  try {
    return await TtyPort.open(path, profile);
  } catch (error) {
    if (!isEdgepayError(error, 'EDGEPAY_READER_UNAVAILABLE')) throw error;
    throw new BadInputError('--port', [{ path: '--port', message: `${error.message}: must be the reader's serial device (e.g. /dev/ttyUSB0) or unix:<socket> of a simulated reader`, value: path }]);
  }
}
