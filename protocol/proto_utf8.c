/*
 * The well-formed byte sequences of Unicode 15 table 3-7, checked byte by
 * byte; an ASCII run, the common case, costs one compare per byte.
 */
#include "proto_utf8.h"

bool
proto_utf8_feed(proto_utf8_stream_t *st, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    unsigned char need = st->need, lo = st->lo, hi = st->hi;

    while (p < end) {
        unsigned char c = *p++;

        if (need > 0) {
            if (c < lo || c > hi) {
                return false;
            }
            need--;
            lo = 0x80; /* only the second byte has a narrower range */
            hi = 0xBF;
            continue;
        }
        if (c < 0x80) {
            continue;
        }
        lo = 0x80;
        hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* no surrogate */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80; /* no overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
        } else {
            return false;
        }
    }
    st->need = need;
    st->lo = lo;
    st->hi = hi;
    return true;
}

bool
proto_utf8_valid(const char *s, size_t len)
{
    proto_utf8_stream_t st = {0};

    return proto_utf8_feed(&st, (const unsigned char *)s, len) && proto_utf8_complete(&st);
}
