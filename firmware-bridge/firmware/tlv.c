#include "tlv.h"

#define EP_TLV_TAG_MORE_FOLLOWS 0x1Fu  /* low five bits of the first tag byte */
#define EP_TLV_TAG_CONTINUES 0x80u     /* bit 8 of a subsequent tag byte */
#define EP_TLV_CONSTRUCTED 0x20u       /* bit 6 of the first tag byte */
#define EP_TLV_LENGTH_LONG_FORM 0x80u
#define EP_TLV_LENGTH_INDEFINITE 0x80u

/* Read a tag at data[*pos] without passing `end`. */
static int ep_tlv_read_tag(const uint8_t *data, size_t end, size_t *pos, uint32_t *tag,
                           uint8_t *tag_len)
{
    uint8_t byte;
    uint8_t count = 1;

    if (*pos >= end) {
        return EP_ERR_TLV_TRUNCATED;
    }
    byte = data[*pos];
    *tag = byte;
    *pos += 1u;
    if ((byte & EP_TLV_TAG_MORE_FOLLOWS) == EP_TLV_TAG_MORE_FOLLOWS) {
        do {
            if (count == EP_TLV_MAX_TAG_BYTES) {
                return EP_ERR_TLV_TAG_TOO_LONG;
            }
            if (*pos >= end) {
                return EP_ERR_TLV_TRUNCATED;
            }
            byte = data[*pos];
            *tag = (*tag << 8) | byte;
            *pos += 1u;
            count++;
        } while ((byte & EP_TLV_TAG_CONTINUES) != 0u);
    }
    *tag_len = count;
    return EP_OK;
}

/* Read a length at data[*pos] without passing `end`. */
static int ep_tlv_read_length(const uint8_t *data, size_t end, size_t *pos, size_t *length)
{
    uint8_t first;
    unsigned count;
    unsigned i;
    uint32_t wide = 0;

    if (*pos >= end) {
        return EP_ERR_TLV_TRUNCATED;
    }
    first = data[*pos];
    *pos += 1u;
    if ((first & EP_TLV_LENGTH_LONG_FORM) == 0u) {
        if ((size_t)first > end - *pos) {
            return EP_ERR_TLV_TRUNCATED; /* runs past its container */
        }
        *length = first;
        return EP_OK;
    }
    if (first == EP_TLV_LENGTH_INDEFINITE) {
        return EP_ERR_TLV_INDEFINITE_LENGTH;
    }
    count = (unsigned)(first & 0x7Fu);
    if (count > EP_TLV_MAX_LENGTH_BYTES) {
        return EP_ERR_TLV_LENGTH_TOO_LONG;
    }
    if (end - *pos < count) {
        return EP_ERR_TLV_TRUNCATED;
    }
    /* Up to 24 bits: computed in uint32_t and compared before narrowing, as
     * size_t may be 16 bits on small targets. */
    for (i = 0; i < count; i++) {
        wide = (wide << 8) | data[*pos + i];
    }
    *pos += count;
    if (wide > (uint32_t)(end - *pos)) {
        return EP_ERR_TLV_TRUNCATED; /* runs past its container */
    }
    *length = (size_t)wide;
    return EP_OK;
}

int ep_tlv_parse(const uint8_t *data, size_t len, ep_tlv_object *objects, size_t capacity,
                 size_t *count)
{
    /* Open containers: container_end[0] is the input; container_end[k] the
     * value end of the open object at depth k, whose index is container_index[k]. */
    size_t container_end[EP_TLV_MAX_DEPTH + 1u];
    int16_t container_index[EP_TLV_MAX_DEPTH + 1u];
    size_t level = 0;
    size_t pos = 0;
    size_t n = 0;

    if (count == NULL) {
        return EP_ERR_ARG;
    }
    *count = 0;
    if ((data == NULL && len != 0u) || (objects == NULL && capacity != 0u)) {
        return EP_ERR_ARG;
    }
    if (len > EP_TLV_MAX_INPUT) {
        return EP_ERR_TLV_TOO_LONG;
    }
    container_end[0] = len;
    container_index[0] = EP_TLV_NO_PARENT;

    for (;;) {
        size_t start = pos;
        size_t limit;
        size_t value_len = 0;
        uint32_t tag = 0;
        uint8_t tag_len = 0;
        int rc;
        ep_tlv_object *object;

        /* Close every container whose value has been consumed exactly. Values
         * never overrun their container (checked below), so == is enough. */
        while (level > 0u && pos == container_end[level]) {
            level--;
        }
        if (level == 0u && pos == len) {
            break;
        }
        limit = container_end[level];
        EP_ASSERT(pos < limit);
        if (data[pos] == EP_TLV_PADDING) {
            /* Padding, not an object: it may end its container, so close again. */
            pos++;
            continue;
        }

        /* An object starts here. Limits are checked before its tag is read:
         * depth first, then the object count (the order vectors.json pins). */
        if (level + 1u > EP_TLV_MAX_DEPTH) {
            return EP_ERR_TLV_TOO_DEEP;
        }
        if (n == EP_TLV_MAX_OBJECTS) {
            return EP_ERR_TLV_TOO_MANY_OBJECTS;
        }
        if (n == capacity) {
            return EP_ERR_TLV_NO_SPACE;
        }
        rc = ep_tlv_read_tag(data, limit, &pos, &tag, &tag_len);
        if (rc != EP_OK) {
            return rc;
        }
        rc = ep_tlv_read_length(data, limit, &pos, &value_len);
        if (rc != EP_OK) {
            return rc;
        }
        object = &objects[n];
        object->tag = tag;
        object->tag_len = tag_len;
        object->constructed = (uint8_t)((data[start] & EP_TLV_CONSTRUCTED) != 0u);
        object->depth = (uint8_t)(level + 1u);
        object->parent = container_index[level];
        object->offset = (uint16_t)start;
        object->value_len = (uint16_t)value_len;
        object->value = data + pos;
        n++;

        if (object->constructed && value_len > 0u) {
            /* Open it; its children start at depth level + 2, which the check
             * above refuses when that exceeds EP_TLV_MAX_DEPTH. */
            EP_ASSERT(level < EP_TLV_MAX_DEPTH);
            level++;
            container_end[level] = pos + value_len;
            container_index[level] = (int16_t)(n - 1u);
        } else {
            pos += value_len;
        }
    }
    *count = n;
    return EP_OK;
}

const ep_tlv_object *ep_tlv_find(const ep_tlv_object *objects, size_t count, uint32_t tag)
{
    size_t i;

    if (objects == NULL) {
        return NULL;
    }
    for (i = 0; i < count; i++) {
        if (objects[i].tag == tag) {
            return &objects[i];
        }
    }
    return NULL;
}

const ep_tlv_object *ep_tlv_find_child(const ep_tlv_object *objects, size_t count, size_t parent,
                                       uint32_t tag)
{
    size_t i;

    if (objects == NULL || parent >= count) {
        return NULL;
    }
    for (i = parent + 1u; i < count; i++) {
        if (objects[i].depth <= objects[parent].depth) {
            break; /* left the parent's subtree (pre-order) */
        }
        if (objects[i].parent == (int16_t)parent && objects[i].tag == tag) {
            return &objects[i];
        }
    }
    return NULL;
}
