/*
 * RFC 6455 §5.2's frame, read as a small state machine: the header is
 * gathered into r->head until it is whole (its second byte says how long it
 * is), then the payload is unmasked where it lies. A frame that breaks a
 * rule is refused as soon as its header shows it, before a byte of its
 * payload is looked at.
 */
#include "proto_wsread.h"

#include <string.h>

enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xA,
};

void
proto_wsread_init(proto_wsread_t *r, uint64_t max_message)
{
    memset(r, 0, sizeof(*r));
    r->max_message = max_message;
    r->head_need = 2;
}

bool
proto_ws_close_code_valid(int code)
{
    /* 1004-1006 and 1015 are reserved: never sent in a frame. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static size_t
fail(proto_wsread_t *r, proto_wsread_out_t *out, int code, const char *why, size_t used)
{
    r->failed = true;
    out->event = PROTO_WSREAD_FAIL;
    out->code = code;
    out->why = why;
    return used;
}

/* The first two bytes are in: how long the whole header is. */
static uint8_t
head_length(const uint8_t *h)
{
    uint8_t len7 = h[1] & 0x7F;

    return (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
}

/* The first two bytes are in: what they say is checked before the rest of
 * the header is waited for (an unmasked frame's header never has 4 more). */
static const char *
check_start(proto_wsread_t *r)
{
    const uint8_t *h = r->head;
    uint8_t op = h[0] & 0x0F;

    r->fin = (h[0] & 0x80) != 0;
    r->opcode = op;
    if ((h[0] & 0x70) != 0) {
        return "reserved bits set"; /* no extension was agreed */
    }
    if ((h[1] & 0x80) == 0) {
        return "frame not masked"; /* §5.1: a client masks every frame */
    }
    if (op >= OP_CLOSE) {
        if (op > OP_PONG) {
            return "unknown control opcode";
        }
        if (!r->fin) {
            return "fragmented control frame";
        }
        if ((h[1] & 0x7F) > PROTO_WS_CONTROL_MAX) {
            return "control frame over 125 bytes";
        }
        return NULL;
    }
    if (op == OP_CONT) {
        return r->in_message ? NULL : "continuation outside a message";
    }
    if (op != OP_TEXT && op != OP_BINARY) {
        return "unknown data opcode";
    }
    return r->in_message ? "new message inside a fragmented one" : NULL;
}

/* The whole header is in: its length, against the bound on a message.
 * NULL when the payload may be read, else why not and *code. */
static const char *
check_length(proto_wsread_t *r, int *code)
{
    const uint8_t *h = r->head;
    uint8_t len7 = h[1] & 0x7F;
    uint64_t len = len7;

    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
    } else if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) {
            len = len << 8 | h[i];
        }
        if (len >> 63 != 0) {
            *code = PROTO_WS_CLOSE_PROTOCOL;
            return "frame length over 2^63";
        }
    }
    memcpy(r->mask, h + r->head_len - 4, 4);
    r->mask_at = 0;
    r->left = len;
    if (r->opcode >= OP_CLOSE) {
        r->ctl_len = 0;
        return NULL;
    }
    if (r->opcode != OP_CONT) {
        r->in_message = true;
        r->binary = r->opcode == OP_BINARY;
        r->message_len = 0;
        memset(&r->utf8, 0, sizeof(r->utf8));
    }
    if (r->max_message != 0 && len > r->max_message - r->message_len) {
        *code = PROTO_WS_CLOSE_TOO_BIG;
        return "message too large";
    }
    r->message_len += len;
    return NULL;
}

/* XOR the payload with the mask, continuing where the last piece stopped. */
static void
unmask(proto_wsread_t *r, uint8_t *p, size_t n)
{
    uint8_t at = r->mask_at;

    for (size_t i = 0; i < n; i++) {
        p[i] ^= r->mask[(at + i) & 3];
    }
    r->mask_at = (uint8_t)((at + n) & 3);
}

/* The next frame's header starts with the next byte. */
static void
next_frame(proto_wsread_t *r)
{
    r->head_len = 0;
    r->head_need = 2;
}

/* A control frame is whole: its event. */
static size_t
control_done(proto_wsread_t *r, proto_wsread_out_t *out, size_t used)
{
    next_frame(r);
    out->data = r->ctl;
    out->len = r->ctl_len;
    if (r->opcode == OP_PING || r->opcode == OP_PONG) {
        out->event = r->opcode == OP_PING ? PROTO_WSREAD_PING : PROTO_WSREAD_PONG;
        return used;
    }
    if (r->ctl_len == 1) {
        return fail(r, out, PROTO_WS_CLOSE_PROTOCOL, "close payload of one byte", used);
    }
    out->code = PROTO_WS_CLOSE_NO_STATUS;
    if (r->ctl_len >= 2) {
        out->code = r->ctl[0] << 8 | r->ctl[1];
        out->data = r->ctl + 2;
        out->len = r->ctl_len - 2u;
        if (!proto_ws_close_code_valid(out->code)) {
            return fail(r, out, PROTO_WS_CLOSE_PROTOCOL, "invalid close code", used);
        }
        if (!proto_utf8_valid((const char *)out->data, out->len)) {
            return fail(r, out, PROTO_WS_CLOSE_BAD_DATA, "close reason not UTF-8", used);
        }
    }
    r->closed = true;
    out->event = PROTO_WSREAD_CLOSE;
    return used;
}

/* n bytes of a data frame's payload (maybe 0, for an empty last frame) at p. */
static size_t
data_piece(proto_wsread_t *r, proto_wsread_out_t *out, uint8_t *p, size_t n, size_t used)
{
    unmask(r, p, n);
    r->left -= n;
    out->message_end = r->fin && r->left == 0;
    if (!r->binary && (!proto_utf8_feed(&r->utf8, p, n) ||
                       (out->message_end && !proto_utf8_complete(&r->utf8)))) {
        return fail(r, out, PROTO_WS_CLOSE_BAD_DATA, "text not UTF-8", used);
    }
    if (r->left == 0) {
        next_frame(r);
        r->in_message = !out->message_end;
    }
    out->event = PROTO_WSREAD_DATA;
    out->data = p;
    out->len = n;
    out->binary = r->binary;
    return used;
}

size_t
proto_wsread_feed(proto_wsread_t *r, uint8_t *buf, size_t len, proto_wsread_out_t *out)
{
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    if (r->failed) {
        return fail(r, out, PROTO_WS_CLOSE_PROTOCOL, "connection already failed", len);
    }
    if (r->closed) {
        return len;
    }
    while (used < len) {
        if (r->head_len < r->head_need) {
            size_t n = r->head_need - r->head_len;
            int code;
            const char *why;

            n = n < len - used ? n : len - used;
            memcpy(r->head + r->head_len, buf + used, n);
            r->head_len = (uint8_t)(r->head_len + n);
            used += n;
            if (r->head_len == 2) {
                if ((why = check_start(r)) != NULL) {
                    return fail(r, out, PROTO_WS_CLOSE_PROTOCOL, why, used);
                }
                r->head_need = head_length(r->head);
            }
            if (r->head_len < r->head_need) {
                continue;
            }
            if ((why = check_length(r, &code)) != NULL) {
                return fail(r, out, code, why, used);
            }
            if (r->left > 0) {
                continue;
            }
            if (r->opcode >= OP_CLOSE) {
                return control_done(r, out, used);
            }
            if (r->fin) {
                return data_piece(r, out, buf + used, 0, used);
            }
            next_frame(r); /* an empty piece of a message: nothing to say */
            continue;
        }
        size_t n = r->left < len - used ? (size_t)r->left : len - used;
        uint8_t *p = buf + used;
        used += n;
        if (r->opcode < OP_CLOSE) {
            return data_piece(r, out, p, n, used);
        }
        unmask(r, p, n);
        memcpy(r->ctl + r->ctl_len, p, n);
        r->ctl_len = (uint8_t)(r->ctl_len + n);
        r->left -= n;
        if (r->left == 0) {
            return control_done(r, out, used);
        }
    }
    return used;
}
