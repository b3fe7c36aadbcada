/**
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), as PROTOCOL.md 2
 * requires. Table-driven because the decoder recomputes it for every candidate frame during
 * resynchronisation, which can mean up to ~1 KiB of CRC work per garbage STX.
 */
const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

export const CRC16_INITIAL = 0xffff;

/** CRC of bytes[start, end); `crc` lets a caller continue a running CRC across slices. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length, crc = CRC16_INITIAL): number {
  let value = crc;
  for (let i = start; i < end; i++) {
    value = ((value << 8) & 0xffff) ^ (TABLE[((value >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  }
  return value;
}
