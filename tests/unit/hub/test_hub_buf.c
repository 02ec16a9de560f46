/* hub_buf: refcounting and headroom. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "hub_buf.h"
#include "xalloc.h"

static void
test_from_copies_payload_behind_headroom(void)
{
    hub_buf_t *b = hub_buf_from("hello", 5);

    ok(hub_buf_len(b) == 5, "length is the payload length");
    ok(memcmp(hub_buf_payload(b), "hello", 5) == 0, "payload holds the bytes");
    ok(hub_buf_payload(b)[5] == '\0', "payload is NUL-terminated for logging");
    /* lws writes the frame header into the LWS_PRE bytes before the payload. */
    memset(hub_buf_payload(b) - LWS_PRE, 0xAA, LWS_PRE);
    ok(memcmp(hub_buf_payload(b), "hello", 5) == 0, "headroom writes leave the payload intact");
    hub_buf_unref(b);
}

static void
test_ref_keeps_buffer_until_last_unref(void)
{
    char *s = xstrdup("{\"type\":\"pong\"}");
    hub_buf_t *b = hub_buf_take(s, strlen("{\"type\":\"pong\"}"));
    hub_buf_t *r = hub_buf_ref(b);

    ok(r == b, "ref returns the same buffer");
    hub_buf_unref(b);
    ok(memcmp(hub_buf_payload(r), "{\"type\":\"pong\"}", 15) == 0,
       "buffer survives while a reference remains");
    hub_buf_unref(r);
    hub_buf_unref(NULL);
    ok(1, "unref of NULL is a no-op");
}

int
main(void)
{
    test_from_copies_payload_behind_headroom();
    test_ref_keeps_buffer_until_last_unref();
    return tap_done();
}
