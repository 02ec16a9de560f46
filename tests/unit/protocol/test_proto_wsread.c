/*
 * proto_wsread: the frames a client may send, the ones it may not, and the
 * same verdicts whatever pieces the bytes come in (whole, byte by byte, and
 * cut at every offset in two).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_wsread.h"

/* A stream of frames being built. */
typedef struct stream {
    uint8_t *b;
    size_t len;
} stream_t;

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Append one frame: fin, rsv bits, opcode, masked or not, payload. */
static void
frame_raw(stream_t *s, bool fin, int rsv, int op, bool masked, const void *payload, size_t n)
{
    uint8_t h[14];
    size_t hl = 2;

    h[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    h[1] = masked ? 0x80 : 0;
    if (n < 126) {
        h[1] |= (uint8_t)n;
    } else if (n < 65536) {
        h[1] |= 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] |= 127;
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        }
        hl = 10;
    }
    if (masked) {
        memcpy(h + hl, MASK, 4);
        hl += 4;
    }
    s->b = realloc(s->b, s->len + hl + n);
    memcpy(s->b + s->len, h, hl);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = ((const uint8_t *)payload)[i];
        s->b[s->len + hl + i] = masked ? c ^ MASK[i & 3] : c;
    }
    s->len += hl + n;
}

static void
frame(stream_t *s, bool fin, int op, const char *payload)
{
    frame_raw(s, fin, 0, op, true, payload, strlen(payload));
}

static void
close_frame(stream_t *s, int code, const char *reason)
{
    uint8_t p[64];
    size_t n = strlen(reason);

    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, n);
    frame_raw(s, true, 0, 0x8, true, p, 2 + n);
}

/* What a reader made of a stream, as text: "T:<msg>" per text message,
 * "B:<n>" per binary one, "PING:<p>", "PONG:<p>", "CLOSE:<code>:<reason>",
 * "FAIL:<code>", separated by '|'. */
typedef struct log {
    char s[72000];
    char *msg;
    size_t msg_len;
} log_t;

/* Append "<kind>:" then "<code>:" when code is not 0, then a, then '|'. */
static void
add(log_t *l, const char *kind, int code, const void *a, size_t alen)
{
    size_t n = strlen(l->s);

    if (code != 0) {
        n += (size_t)snprintf(l->s + n, sizeof(l->s) - n, "%s:%d:", kind, code);
    } else {
        n += (size_t)snprintf(l->s + n, sizeof(l->s) - n, "%s:", kind);
    }
    snprintf(l->s + n, sizeof(l->s) - n, "%.*s|", (int)alen, (const char *)a);
}

/* Feed s in pieces of at most step bytes (0: the first piece is cut bytes,
 * the rest the second) into a fresh reader; the log of events. */
static void
run(const stream_t *s, uint64_t max, size_t step, size_t cut, log_t *l)
{
    proto_wsread_t r;
    uint8_t *copy = malloc(s->len + 1);
    size_t at = 0;

    memset(l, 0, sizeof(*l));
    memcpy(copy, s->b, s->len);
    proto_wsread_init(&r, max);
    while (at < s->len) {
        size_t piece = step != 0 ? step : (at < cut ? cut - at : s->len - at);
        piece = piece < s->len - at ? piece : s->len - at;
        size_t used = 0;
        while (used < piece) {
            proto_wsread_out_t o;
            used += proto_wsread_feed(&r, copy + at + used, piece - used, &o);
            switch (o.event) {
            case PROTO_WSREAD_MORE:
                break;
            case PROTO_WSREAD_DATA:
                l->msg = realloc(l->msg, l->msg_len + o.len + 1);
                memcpy(l->msg + l->msg_len, o.data, o.len);
                l->msg_len += o.len;
                if (o.message_end) {
                    if (o.binary) {
                        char n[32];
                        snprintf(n, sizeof(n), "%zu", l->msg_len);
                        add(l, "B", 0, n, strlen(n));
                    } else {
                        add(l, "T", 0, l->msg, l->msg_len);
                    }
                    l->msg_len = 0;
                }
                break;
            case PROTO_WSREAD_PING:
            case PROTO_WSREAD_PONG:
                add(l, o.event == PROTO_WSREAD_PING ? "PING" : "PONG", 0, o.data, o.len);
                break;
            case PROTO_WSREAD_CLOSE:
                add(l, "CLOSE", o.code, o.data, o.len);
                break;
            case PROTO_WSREAD_FAIL:
                add(l, "FAIL", o.code, "", 0);
                free(copy);
                free(l->msg);
                return;
            }
        }
        at += piece;
    }
    free(copy);
    free(l->msg);
}

/* The log for s, checked to be the same in every way of cutting it. */
static void
expect(const stream_t *s, uint64_t max, const char *want, const char *what)
{
    log_t whole, piece;
    bool same = true;

    run(s, max, s->len, 0, &whole);
    run(s, max, 1, 0, &piece);
    same = same && strcmp(whole.s, piece.s) == 0;
    for (size_t cut = 1; cut < s->len && same && s->len < 4096; cut++) {
        run(s, max, 0, cut, &piece);
        same = strcmp(whole.s, piece.s) == 0;
    }
    ok(strcmp(whole.s, want) == 0, "%s: %s (got %s)", what, want, whole.s);
    ok(same, "%s: the same in any pieces", what);
}

static void
reset(stream_t *s)
{
    free(s->b);
    s->b = NULL;
    s->len = 0;
}

static void
test_good(void)
{
    stream_t s = {0};
    char *big = malloc(70001);

    frame(&s, true, 0x1, "hello");
    expect(&s, 0, "T:hello|", "one text frame");
    reset(&s);

    frame(&s, false, 0x1, "ab");
    frame(&s, true, 0x9, "p");
    frame(&s, false, 0x0, "");
    frame(&s, false, 0x0, "cd");
    frame(&s, true, 0xA, "");
    frame(&s, true, 0x0, "ef");
    frame(&s, true, 0x1, "");
    expect(&s, 0, "PING:p|PONG:|T:abcdef|T:|",
           "fragments with control frames between them, an empty piece, an empty message");
    reset(&s);

    frame_raw(&s, true, 0, 0x2, true, "\0\1\2", 3);
    expect(&s, 0, "B:3|", "a binary frame");
    reset(&s);

    frame(&s, false, 0x1, "\xF0\x9F");
    frame(&s, true, 0x0, "\x98\x80");
    expect(&s, 0, "T:\xF0\x9F\x98\x80|", "an emoji split between two frames");
    reset(&s);

    memset(big, 'x', 70000);
    big[70000] = '\0';
    frame_raw(&s, true, 0, 0x1, true, big, 200);
    frame_raw(&s, true, 0, 0x1, true, big, 70000);
    {
        log_t l;
        run(&s, 0, s.len, 0, &l);
        ok(strncmp(l.s, "T:xxx", 5) == 0 && strlen(l.s) == 200 + 70000 + 6,
           "16-bit and 64-bit lengths");
        run(&s, 0, 1000, 0, &l);
        ok(strlen(l.s) == 200 + 70000 + 6, "the same in 1000-byte reads");
    }
    reset(&s);

    frame(&s, true, 0x1, "0123456789");
    expect(&s, 10, "T:0123456789|", "a message of exactly the bound");
    reset(&s);

    close_frame(&s, 1000, "bye");
    frame(&s, true, 0x1, "after");
    expect(&s, 0, "CLOSE:1000:bye|", "a close, and nothing read after it");
    reset(&s);

    frame(&s, true, 0x8, "");
    expect(&s, 0, "CLOSE:1005:|", "a close without a code");
    reset(&s);

    static const int fine[] = {1000, 1001, 1003, 1007, 1011, 1012, 1014, 3000, 4999};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        char want[32];
        close_frame(&s, fine[i], "");
        snprintf(want, sizeof(want), "CLOSE:%d:|", fine[i]);
        expect(&s, 0, want, "a close code that may be sent");
        reset(&s);
    }
    free(big);
}

static void
test_bad(void)
{
    stream_t s = {0};

    frame_raw(&s, true, 0, 0x1, false, "hi", 2);
    expect(&s, 0, "FAIL:1002:|", "an unmasked frame");
    reset(&s);

    frame_raw(&s, true, 4, 0x1, true, "hi", 2);
    expect(&s, 0, "FAIL:1002:|", "RSV1 without an extension");
    reset(&s);

    frame(&s, true, 0x3, "x");
    expect(&s, 0, "FAIL:1002:|", "opcode 3");
    reset(&s);

    frame(&s, true, 0xB, "x");
    expect(&s, 0, "FAIL:1002:|", "opcode 0xB");
    reset(&s);

    frame(&s, true, 0x0, "x");
    expect(&s, 0, "FAIL:1002:|", "a continuation outside a message");
    reset(&s);

    frame(&s, false, 0x1, "a");
    frame(&s, true, 0x1, "b");
    expect(&s, 0, "FAIL:1002:|", "a new message inside a fragmented one");
    reset(&s);

    frame(&s, false, 0x9, "p");
    expect(&s, 0, "FAIL:1002:|", "a fragmented ping");
    reset(&s);

    {
        char p[126];
        memset(p, 'p', sizeof(p));
        frame_raw(&s, true, 0, 0x9, true, p, sizeof(p));
        expect(&s, 0, "FAIL:1002:|", "a ping of 126 bytes");
        reset(&s);
    }

    frame_raw(&s, true, 0, 0x8, true, "\x03", 1);
    expect(&s, 0, "FAIL:1002:|", "a close payload of one byte");
    reset(&s);

    static const int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        close_frame(&s, bad[i], "");
        expect(&s, 0, "FAIL:1002:|", "a close code that may not be sent");
        reset(&s);
    }

    close_frame(&s, 1000, "\xC0\x80");
    expect(&s, 0, "FAIL:1007:|", "a close reason that is not UTF-8");
    reset(&s);

    frame(&s, true, 0x1, "ok\xFF");
    expect(&s, 0, "FAIL:1007:|", "text with a byte UTF-8 never has");
    reset(&s);

    frame(&s, true, 0x1, "ok\xE2\x82");
    expect(&s, 0, "FAIL:1007:|", "text that ends inside a character");
    reset(&s);

    frame(&s, true, 0x1, "0123456789A");
    expect(&s, 10, "FAIL:1009:|", "a frame over the bound");
    reset(&s);

    frame(&s, false, 0x1, "012345");
    frame(&s, true, 0x0, "6789A");
    expect(&s, 10, "FAIL:1009:|", "fragments over the bound together");
    reset(&s);

    {
        /* A 64-bit length with its top bit set. */
        uint8_t f[14] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
        s.b = malloc(sizeof(f));
        memcpy(s.b, f, sizeof(f));
        s.len = sizeof(f);
        expect(&s, 0, "FAIL:1002:|", "a length over 2^63");
        reset(&s);
    }
}

/* A refused header is refused before its payload is read, and the reader
 * stays failed. */
static void
test_fail_early(void)
{
    stream_t s = {0};
    proto_wsread_t r;
    proto_wsread_out_t o;
    size_t used;

    frame(&s, true, 0x1, "0123456789A");
    proto_wsread_init(&r, 10);
    used = proto_wsread_feed(&r, s.b, s.len, &o);
    ok(o.event == PROTO_WSREAD_FAIL && used == 6, "1009 at the header, payload unread (%zu)", used);
    used = proto_wsread_feed(&r, s.b + used, s.len - used, &o);
    ok(o.event == PROTO_WSREAD_FAIL, "failed again after");
    reset(&s);

    frame_raw(&s, true, 0, 0x1, false, "hi", 2);
    proto_wsread_init(&r, 0);
    used = proto_wsread_feed(&r, s.b, s.len, &o);
    ok(o.event == PROTO_WSREAD_FAIL && used == 2, "an unmasked frame: refused at its 2nd byte");
    reset(&s);
}

int
main(void)
{
    test_good();
    test_bad();
    test_fail_early();
    return tap_done();
}
