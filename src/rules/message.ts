import { type KeyObject, sign, verify } from 'node:crypto';
import { type Rules, type RulesConfig, parseRules } from './rules.js';
import { isEdgepayError } from '../errors.js';
import { canonicalJson } from './canonical.js';

/**
 * A rules message, published retained (QoS 1) on `edgepay/v1/<fleet>/<store>/rules`:
 *
 *   { "v": 1, "rules": <RulesConfig>, "sig": "<base64 Ed25519 signature, 88 characters>" }
 *
 * The signature, by the operator's (or the centre's) rules key, covers the UTF-8 bytes of
 *
 *   ["edgepay/rules-signature/v1","<fleet>","<store>",<canonical JSON of rules>]
 *
 * (canonical JSON: rules-canonical.ts, RFC 8785). Fleet and store are signed so that rules signed
 * for one store cannot be replayed into another's topic; the context string keeps the bytes from
 * ever verifying as another edgepay signature. Who may publish is the broker ACL's business
 * (user `edgepay-rules`); whether to believe it is this signature's.
 */
export const RULES_MESSAGE_VERSION = 1;

const RULES_SIGNATURE_CONTEXT = 'edgepay/rules-signature/v1';

/**
 * Room for a hot-card list of about 90,000 tokens (46 bytes each), and the shipped Mosquitto's
 * message_size_limit (brokers/mosquitto.conf): the two change together.
 */
export const MAX_RULES_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface RulesScope {
  readonly fleet: string;
  readonly store: string;
}

export const RULES_REJECT_REASONS = [
  /** Too large, not JSON, or not `{ v: 1, rules: {...}, sig }`. */
  'malformed',
  /** The signature does not verify with the rules public key: forged, altered, or for another store. */
  'bad_signature',
  /** Validly signed, but parseRules refuses the content: a mistake on the publishing side. */
  'invalid_rules',
] as const;
export type RulesRejectReason = (typeof RULES_REJECT_REASONS)[number];

export type OpenedRules = { readonly ok: true; readonly config: RulesConfig; readonly rules: Rules } | { readonly ok: false; readonly reason: RulesRejectReason; readonly detail: string };

export function rulesSignedBytes(scope: RulesScope, rules: unknown): Buffer {
  const head = [RULES_SIGNATURE_CONTEXT, scope.fleet, scope.store].map((part) => JSON.stringify(part)).join(',');
  return Buffer.from(`[${head},${canonicalJson(rules)}]`, 'utf8');
}

/** Signs `rules` for one store. The caller has validated them with parseRules: nodes refuse anything else. */
export function encodeRulesMessage(rules: RulesConfig, scope: RulesScope, rulesKey: KeyObject): Buffer {
  const canonical = canonicalJson(rules);
  const signature = sign(null, rulesSignedBytes(scope, JSON.parse(canonical)), rulesKey);
  return Buffer.from(`{"v":${RULES_MESSAGE_VERSION},"rules":${canonical},"sig":${JSON.stringify(signature.toString('base64'))}}`, 'utf8');
}

/** Checks in order of cost: size and shape, then the signature, then the rules themselves. */
export function openRulesMessage(payload: Uint8Array, scope: RulesScope, rulesPublicKey: KeyObject): OpenedRules {
  const message = parseShape(payload);
  if (typeof message === 'string') return { ok: false, reason: 'malformed', detail: message };
  let signed: Buffer;
  try {
    signed = rulesSignedBytes(scope, message.rules);
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: (error as Error).message };
  }
  if (!verify(null, signed, rulesPublicKey, message.signature)) {
    return { ok: false, reason: 'bad_signature', detail: `signature does not verify with the rules public key for ${scope.fleet}/${scope.store}` };
  }
  try {
    // The cast is checked on the next line: parseRules accepts exactly the RulesConfig shape or throws.
    const config = message.rules as RulesConfig;
    return { ok: true, config, rules: parseRules(config) };
  } catch (error) {
    if (!isEdgepayError(error)) throw error;
    return { ok: false, reason: 'invalid_rules', detail: error.message };
  }
}

interface Shaped {
  readonly rules: Record<string, unknown>;
  readonly signature: Buffer;
}

/** The message's parts, or what is wrong with it. */
function parseShape(payload: Uint8Array): Shaped | string {
  if (payload.byteLength > MAX_RULES_MESSAGE_BYTES) return `${payload.byteLength} bytes is over the ${MAX_RULES_MESSAGE_BYTES}-byte limit`;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (!isRecord(json)) return 'not a JSON object';
  const extra = Object.keys(json).filter((key) => key !== 'v' && key !== 'rules' && key !== 'sig');
  if (extra.length > 0) return `unknown keys ${extra.join(', ')}`;
  if (json.v !== RULES_MESSAGE_VERSION) return `v must be ${RULES_MESSAGE_VERSION}, got ${JSON.stringify(json.v)}`;
  const rules = json.rules;
  if (!isRecord(rules)) return 'rules must be an object';
  const sig = json.sig;
  // An Ed25519 signature is 64 bytes: 88 base64 characters.
  if (typeof sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(sig)) return 'sig must be a base64 Ed25519 signature (88 characters)';
  return { rules, signature: Buffer.from(sig, 'base64') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
