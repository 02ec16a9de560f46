/*
 * Lone surrogate escapes in JSON text, mended (see proto_surrogate.h). The
 * scan only follows backslashes: outside a string one is invalid JSON anyway,
 * and inside one "\\" skips the escaped byte, so "\\ud800" is left alone.
 */
#include "proto_surrogate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto_num.h"
#include "xalloc.h"

/* The code unit of a "\uXXXX" escape at p (6 bytes before end), or -1. */
static long
escaped_unit(const char *p, const char *end)
{
    return end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? proto_hex4(p + 2) : -1;
}

static bool
is_high(long u)
{
    return u >= 0xD800 && u <= 0xDBFF;
}

static bool
is_low(long u)
{
    return u >= 0xDC00 && u <= 0xDFFF;
}

char *
proto_json_mend_surrogates(const char *buf, size_t len)
{
    const char *end = buf + len;
    char *copy = NULL;

    for (const char *p = memchr(buf, '\\', len); p != NULL && p < end;) {
        long u = escaped_unit(p, end);
        size_t step = 2;

        if (u >= 0) {
            step = 6;
            bool lone = is_low(u);
            if (is_high(u)) {
                if (is_low(escaped_unit(p + 6, end))) {
                    step = 12; /* a pair: one code point */
                } else {
                    lone = true;
                }
            }
            if (lone) {
                if (copy == NULL) {
                    copy = xmalloc(len + 1);
                    memcpy(copy, buf, len);
                    copy[len] = '\0';
                }
                memcpy(copy + (p - buf) + 2, "fffd", 4);
            }
        }
        p += step;
        if (p < end) {
            p = memchr(p, '\\', (size_t)(end - p));
        }
    }
    return copy;
}
