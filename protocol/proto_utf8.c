/*
 * The well-formed byte sequences of Unicode 15 table 3-7, checked byte by
 * byte; an ASCII run, the common case, costs one compare per byte.
 */
#include "proto_utf8.h"

bool
proto_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned char c = *p;
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */

        if (c < 0x80) {
            p++;
            continue;
        }
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
        if ((size_t)(end - p) <= need || p[1] < lo || p[1] > hi) {
            return false;
        }
        for (size_t i = 2; i <= need; i++) {
            if (p[i] < 0x80 || p[i] > 0xBF) {
                return false;
            }
        }
        p += need + 1;
    }
    return true;
}
