/**
 * The canonical JSON of a rules object, the bytes a rules signature covers: object keys sorted by
 * UTF-16 code units, no whitespace, strings and numbers exactly as JSON.stringify writes them. For
 * JSON values this is the JSON Canonicalization Scheme (RFC 8785), so a signer in another language
 * can use any JCS library. The signature then does not depend on how the file was formatted or in
 * which order its keys were written, only on what the rules say.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    // JSON has no NaN or Infinity; JSON.stringify would quietly turn them into null.
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold the number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      // Dropped like JSON.stringify drops them, so an object signed before sending verifies after it.
      .filter((key) => record[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}
