/**
 * The run's report, as text for a person (a header, a line per case as it finishes, a summary) or
 * as one JSON document. Everything in it comes from the runner's own words and the reader's HELLO;
 * no case reason carries card data (see describe.ts).
 */
import { Capability, type HelloMessage, keyFingerprint } from '../protocol/index.js';
import type { CaseId } from './case-ids.js';

export type CaseStatus = 'pass' | 'fail' | 'skip';

export interface CaseResult {
  readonly id: CaseId;
  readonly name: string;
  readonly status: CaseStatus;
  readonly ms: number;
  /** Why it failed or was skipped: what was expected and what came. */
  readonly reason?: string;
  readonly notes: readonly string[];
}

export interface ReaderSummary {
  readonly model: string;
  readonly firmwareVersion: string;
  readonly protocolVersion: number;
  readonly capabilities: number;
  readonly capabilityNames: readonly string[];
  readonly maxPayload: number;
  readonly secureSession: boolean;
}

export interface ReportHeader {
  readonly port: string;
  readonly profile: string;
  /** From the reader's HELLO when the run started; null when it sent none. */
  readonly reader: ReaderSummary | null;
  /** Why there is no reader summary. */
  readonly helloProblem?: string;
  readonly readerKey: { readonly pinned: boolean; readonly fingerprint?: string };
}

export interface ConformanceReport extends ReportHeader {
  readonly cases: readonly CaseResult[];
  readonly summary: { readonly passed: number; readonly failed: number; readonly skipped: number };
}

const CAPABILITY_NAMES: readonly [number, string][] = [
  [Capability.CONTACT, 'contact'],
  [Capability.CONTACTLESS, 'contactless'],
  [Capability.DISPLAY, 'display'],
  [Capability.SECURE_SESSION, 'secure-session'],
];

export function readerSummary(hello: HelloMessage): ReaderSummary {
  return {
    model: hello.model,
    firmwareVersion: hello.firmwareVersion,
    protocolVersion: hello.protocolVersion,
    capabilities: hello.capabilities,
    capabilityNames: CAPABILITY_NAMES.filter(([bit]) => (hello.capabilities & bit) !== 0).map(([, name]) => name),
    maxPayload: hello.maxPayload,
    secureSession: (hello.capabilities & Capability.SECURE_SESSION) !== 0,
  };
}

export function readerKeyHeader(key: Uint8Array | undefined): ReportHeader['readerKey'] {
  return key === undefined ? { pinned: false } : { pinned: true, fingerprint: keyFingerprint(key) };
}

export function summarize(cases: readonly CaseResult[]): ConformanceReport['summary'] {
  const count = (status: CaseStatus): number => cases.filter((c) => c.status === status).length;
  return { passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

export function formatHeader(header: ReportHeader): string {
  const lines = [`reader conformance on ${header.port} (profile ${header.profile})`];
  const r = header.reader;
  if (r === null) {
    lines.push(`reader: no HELLO: ${header.helloProblem ?? 'unknown'}`);
    return lines.join('\n');
  }
  const names = r.capabilityNames.length > 0 ? ` (${r.capabilityNames.join(', ')})` : '';
  lines.push(`reader: model ${JSON.stringify(r.model)}, firmware ${JSON.stringify(r.firmwareVersion)}, protocol ${r.protocolVersion}, capabilities ${hex(r.capabilities)}${names}, maxPayload ${r.maxPayload}`);
  if (header.readerKey.pinned) lines.push(`reader key: pinned with --reader-key (${header.readerKey.fingerprint})`);
  else if (r.secureSession) lines.push('reader key: not pinned (no --reader-key): the S cases check signatures with the key the reader sends');
  return lines.join('\n');
}

export function formatCase(result: CaseResult): string {
  const head = `${result.status.toUpperCase().padEnd(4)}  ${result.id.padEnd(3)}  ${result.name.padEnd(17)}  ${String(result.ms).padStart(6)} ms`;
  const line = result.reason === undefined ? head : `${head}  ${result.reason}`;
  return [line, ...result.notes.map((note) => `      note: ${note}`)].join('\n');
}

export function formatSummary(summary: ConformanceReport['summary']): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
}

export function formatText(report: ConformanceReport): string {
  return [formatHeader(report), ...report.cases.map(formatCase), formatSummary(report.summary)].join('\n');
}

export function formatJson(report: ConformanceReport): string {
  return JSON.stringify(report, null, 2);
}
