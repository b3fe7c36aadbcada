/*
 * Bytes that cross between worker threads by structured clone (the actors' messages). A clone
 * copies the whole ArrayBuffer under a view, and Buffers from Node's pool or mqtt.js's parser sit
 * in shared ones many times their size; what arrives is a plain Uint8Array.
 */

/** The bytes of `payload` alone; a view that already owns its whole buffer goes as it is. */
export function ownBytes(payload: Uint8Array): Uint8Array {
  // Not payload.slice(): on a Buffer that is a view on the same memory, not a copy.
  return payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload : new Uint8Array(payload);
}

/** A Buffer over the same bytes, not a copy. */
export function asBuffer(payload: Uint8Array): Buffer {
  return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}
