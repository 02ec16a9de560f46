/*
 * libFuzzer target: the WebSocket frame reader (proto_wsread.h). Any bytes,
 * any bound, read whole and in pieces of any size: the two readings must
 * agree event for event, every piece must lie inside the buffer, a message
 * never grows past the bound, a text message is UTF-8 when it ends, and a
 * close's code is one that may be sent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_utf8.h"
#include "proto_wsread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

/* What a reading made of the bytes: a digest of its events, in order. */
typedef struct trace {
    uint64_t hash;
    uint8_t *msg; /* the message being reassembled */
    size_t msg_len;
    int last; /* the last event */
} trace_t;

static void
mix(trace_t *t, uint64_t v)
{
    t->hash = (t->hash ^ v) * UINT64_C(1099511628211);
}

static void
read_all(const uint8_t *in, size_t len, uint64_t max, size_t step, trace_t *t)
{
    uint8_t *buf = malloc(len + 1);
    proto_wsread_t r;
    size_t at = 0;

    memcpy(buf, in, len);
    memset(t, 0, sizeof(*t));
    t->msg = malloc(1);
    proto_wsread_init(&r, max);
    while (at < len && t->last != PROTO_WSREAD_FAIL) {
        size_t piece = step < len - at ? step : len - at;
        uint8_t *p = buf + at;
        proto_wsread_out_t o;
        size_t used = proto_wsread_feed(&r, p, piece, &o);

        check(used <= piece);
        check(used > 0 || o.event != PROTO_WSREAD_MORE);
        at += used;
        t->last = (int)o.event;
        switch (o.event) {
        case PROTO_WSREAD_MORE:
            break;
        case PROTO_WSREAD_DATA:
            check(o.data >= p && o.data + o.len <= p + used);
            t->msg = realloc(t->msg, t->msg_len + o.len + 1);
            memcpy(t->msg + t->msg_len, o.data, o.len);
            t->msg_len += o.len;
            check(max == 0 || t->msg_len <= max);
            if (o.message_end) {
                check(o.binary || proto_utf8_valid((const char *)t->msg, t->msg_len));
                mix(t, o.binary ? 2 : 1);
                for (size_t i = 0; i < t->msg_len; i++) {
                    mix(t, t->msg[i]);
                }
                t->msg_len = 0;
            }
            break;
        case PROTO_WSREAD_PING:
        case PROTO_WSREAD_PONG:
        case PROTO_WSREAD_CLOSE:
            check(o.len <= PROTO_WS_CONTROL_MAX);
            check(o.event != PROTO_WSREAD_CLOSE || o.code == PROTO_WS_CLOSE_NO_STATUS ||
                  proto_ws_close_code_valid(o.code));
            mix(t, (uint64_t)o.event << 32 | (uint32_t)o.code);
            for (size_t i = 0; i < o.len; i++) {
                mix(t, o.data[i]);
            }
            break;
        case PROTO_WSREAD_FAIL:
            check(o.code == PROTO_WS_CLOSE_PROTOCOL || o.code == PROTO_WS_CLOSE_BAD_DATA ||
                  o.code == PROTO_WS_CLOSE_TOO_BIG);
            check(o.why != NULL);
            mix(t, 0xFA11);
            break;
        }
    }
    free(buf);
    free(t->msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_t whole, pieces;
    uint64_t max;
    size_t step;

    if (size < 2) {
        return 0;
    }
    max = data[0] < 16 ? 0 : (uint64_t)data[0] * 4; /* no bound, or 64..1020 bytes */
    step = (size_t)data[1] % 17 + 1;
    read_all(data + 2, size - 2, max, size, &whole);
    read_all(data + 2, size - 2, max, step, &pieces);
    /* A failure may be found on a piece the whole reading never got to
     * see apart (it failed at the same frame): the digests still agree. */
    check(whole.hash == pieces.hash);
    return 0;
}
