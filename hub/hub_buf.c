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
    unsigned char data[]; /* LWS_PRE headroom, then the payload */
};

hub_buf_t *
hub_buf_new(size_t payload_len)
{
    hub_buf_t *b = xmalloc(sizeof(*b) + LWS_PRE + payload_len + 1);

    b->refs = 1;
    b->len = payload_len;
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
