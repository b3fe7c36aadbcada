/*
 * CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection,
 * no final XOR. Check value of ASCII "123456789" is 0x29B1 (PROTOCOL.md section 2).
 */
#ifndef EP_CRC16_H
#define EP_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define EP_CRC16_INIT 0xFFFFu

/* CRC of one buffer. data may be null only when len is 0. */
uint16_t ep_crc16(const uint8_t *data, size_t len);

/* Continue a CRC over more bytes: ep_crc16(a+b) ==
 * ep_crc16_update(ep_crc16_update(EP_CRC16_INIT, a), b). */
uint16_t ep_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

#endif /* EP_CRC16_H */
