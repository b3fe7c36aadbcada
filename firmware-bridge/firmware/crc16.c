#include "crc16.h"

#define EP_CRC16_POLY 0x1021u

/* Bitwise rather than table-driven: 1 KB frames at serial speeds leave plenty of
 * time, and a 512-byte table is real money in a reader's flash. */
uint16_t ep_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    unsigned bit;

    for (i = 0; i < len; i++) {
        /* Casts to unsigned keep shifts out of signed int, which is 16 bits on
         * some MCUs (0xFF << 8 would overflow it). */
        crc = (uint16_t)(crc ^ ((unsigned)data[i] << 8));
        for (bit = 0; bit < 8u; bit++) {
            if ((crc & 0x8000u) != 0u) {
                crc = (uint16_t)(((unsigned)crc << 1) ^ EP_CRC16_POLY);
            } else {
                crc = (uint16_t)((unsigned)crc << 1);
            }
        }
    }
    return crc;
}

uint16_t ep_crc16(const uint8_t *data, size_t len)
{
    return ep_crc16_update((uint16_t)EP_CRC16_INIT, data, len);
}
