/*
 * hub_buf_t: one allocation holding the refcount, the length, LWS_PRE bytes
 * of headroom and the payload. No pools: frames are short-lived.
 */
#include "hub_buf.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct hub_buf {
    uint32_t refs;
    size_t len;
    uint64_t born_us;
    unsigned char data[]; /* LWS_PRE headroom, then the payload */
};

hub_buf_t *
hub_buf_new(size_t payload_len)
{
    hub_buf_t *b = xmalloc(sizeof(*b) + LWS_PRE + payload_len + 1);

    b->refs = 1;
    b->len = payload_len;
    b->born_us = 0;
    b->data[LWS_PRE + payload_len] = '\0';
    return b;
}

hub_buf_t *
hub_buf_from(const void *data, size_t len)
{
    hub_buf_t *b = hub_buf_new(len);

    memcpy(b->data + LWS_PRE, data, len);
    return b;
}

hub_buf_t *
hub_buf_take(char *s, size_t len)
{
    hub_buf_t *b = hub_buf_from(s, len);

    free(s);
    return b;
}

void
hub_buf_set_born(hub_buf_t *b, uint64_t us)
{
    b->born_us = us;
}

uint64_t
hub_buf_born(const hub_buf_t *b)
{
    return b->born_us;
}

hub_buf_t *
hub_buf_ref(hub_buf_t *b)
{
    b->refs++;
    return b;
}

void
hub_buf_unref(hub_buf_t *b)
{
    if (b != NULL && --b->refs == 0) {
        free(b);
    }
}

unsigned char *
hub_buf_payload(hub_buf_t *b)
{
    return b->data + LWS_PRE;
}

size_t
hub_buf_len(const hub_buf_t *b)
{
    return b->len;
}
